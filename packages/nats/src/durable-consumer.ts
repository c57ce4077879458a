import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Log, TraceContext } from '@wxmp/core'
import { incomingContext } from './codec.js'
import { eventsStreamName } from './events.js'

export interface DurableConsumerOptions<T> {
  /** The durable name, as the permission matrix grants it to this process's identity (EVENT_CONSUMERS). */
  durable: string
  /** The subject filter without the deployment prefix (`events.user.deleted`, `events.wechat.>`). */
  filter: string
  /** What it applies, for its log lines: "user deletion", "shipping push". */
  what: string
  /** Applies one event; resolving acknowledges it, throwing redelivers it later. It must be safe to run twice. */
  handle: (event: T, trace: TraceContext) => Promise<void>
  log: Log
}

/**
 * A durable JetStream consumer of the EVENTS stream with explicit acks, run in the background: an event is
 * acknowledged only after `handle` resolved (its change committed), a failure is redelivered after 5 s, and setting
 * the consumer up is retried every second until the stream exists and NATS answers, so the process boots regardless.
 */
export class DurableConsumer<T> {
  private messages?: ConsumerMessages
  private loop?: Promise<void>
  private stopped = false

  constructor (private readonly opts: DurableConsumerOptions<T>) {}

  start (nc: NatsConnection, prefix: string): void {
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          await this.consume(nc, prefix)
        } catch (err) {
          if (!this.stopped) this.opts.log.warn({ err: { message: (err as Error).message } }, `${this.opts.what} consumer not running; retrying`)
        }
        if (!this.stopped) await new Promise((resolve) => setTimeout(resolve, 1000))
      }
    })()
  }

  async stop (): Promise<void> {
    this.stopped = true
    await this.messages?.close()
    await this.loop
  }

  private async consume (nc: NatsConnection, prefix: string): Promise<void> {
    const stream = eventsStreamName(prefix)
    const jsm = await jetstreamManager(nc)
    await jsm.consumers.info(stream, this.opts.durable).catch(async () => await jsm.consumers.add(stream, {
      durable_name: this.opts.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: prefix + this.opts.filter,
      ack_wait: 30_000_000_000
    }))
    const consumer = await jetstream(nc).consumers.get(stream, this.opts.durable)
    const messages = await consumer.consume({ max_messages: 32 })
    this.messages = messages
    if (this.stopped) await messages.close()
    for await (const m of messages) {
      try {
        await this.opts.handle(m.json<T>(), incomingContext(m.headers))
        m.ack()
      } catch (err) {
        this.opts.log.error({ err: { message: (err as Error).message }, subject: m.subject }, `${this.opts.what} not applied; redelivered later`)
        m.nak(5000)
      }
    }
  }
}
