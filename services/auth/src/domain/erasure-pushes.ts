import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { wechatPushSubject, type WechatPushEvent } from '@wxmp/contracts'
import { businessCounter, type Log, type TraceContext } from '@wxmp/core'
import { eventsStreamName, incomingContext } from '@wxmp/nats'
import type { AccountRights, ErasureCause } from './account-rights.js'

/** The durable consumer of the pushes that erase an account; named in the NATS permission matrix. */
export const ERASURE_CONSUMER = 'auth-account-erasure'

/** WeChat's pushes that ask the developer to delete a user's data: withdrawn authorisation, a cancelled WeChat account. */
export const ERASURE_EVENTS: ReadonlySet<string> = new Set<ErasureCause>(['user_authorization_revoke', 'user_authorization_cancellation'])

const erasures = businessCounter('auth_push_erasures_total', 'Account erasures asked by WeChat pushes, by event and outcome (erased, unknown_user)', ['event', 'outcome'] as const)

const field = (message: Record<string, unknown>, name: string): string | undefined => {
  const v = message[name]
  return typeof v === 'string' && v !== '' ? v : undefined
}

/**
 * Erases the account a `user_authorization_revoke` or `user_authorization_cancellation` push names (its OpenID, and
 * AppID when given), as auth published the push on events.wechat.<event>. A durable consumer with explicit ack: an
 * event is acknowledged after the erasure committed; a redelivery, or the same push replayed, finds the user erased
 * (or the openid unknown) and changes nothing, so the erasure and its audit event happen once.
 */
export class ErasurePushes {
  private messages?: ConsumerMessages
  private loop?: Promise<void>
  private stopped = false

  constructor (private readonly deps: { rights: AccountRights, appid: string, log: Log }) {}

  /** Starts consuming in the background, retrying the setup until the stream exists and NATS answers. */
  start (nc: NatsConnection, prefix: string): void {
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          await this.consume(nc, prefix)
        } catch (err) {
          if (!this.stopped) this.deps.log.warn({ err: { message: (err as Error).message } }, 'account erasure push consumer not running; retrying')
        }
        if (!this.stopped) await new Promise((resolve) => setTimeout(resolve, 1000))
      }
    })()
  }

  private async consume (nc: NatsConnection, prefix: string): Promise<void> {
    const stream = eventsStreamName(prefix)
    const jsm = await jetstreamManager(nc)
    // One filter for every push (nats-server 2.9 takes one); the others are acknowledged and dropped.
    await jsm.consumers.info(stream, ERASURE_CONSUMER).catch(async () => await jsm.consumers.add(stream, {
      durable_name: ERASURE_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: prefix + wechatPushSubject('>'),
      ack_wait: 30_000_000_000
    }))
    const consumer = await jetstream(nc).consumers.get(stream, ERASURE_CONSUMER)
    const messages = await consumer.consume({ max_messages: 32 })
    this.messages = messages
    if (this.stopped) await messages.close()
    for await (const m of messages) {
      try {
        await this.handle(m.json<WechatPushEvent>(), incomingContext(m.headers))
        m.ack()
      } catch (err) {
        this.deps.log.error({ err: { message: (err as Error).message }, subject: m.subject }, 'account erasure push not applied; redelivered later')
        m.nak(5000)
      }
    }
  }

  async stop (): Promise<void> {
    this.stopped = true
    await this.messages?.close()
    await this.loop
  }

  /** Applies one push event; any other push is ignored. */
  async handle (event: WechatPushEvent, trace: TraceContext): Promise<void> {
    if (!ERASURE_EVENTS.has(event.event)) return
    const cause = event.event as ErasureCause
    const openid = field(event.message, 'OpenID')
    if (openid === undefined) {
      this.deps.log.warn({ event: event.event, eventId: event.id }, 'erasure push without an OpenID; ignored')
      return
    }
    const appid = field(event.message, 'AppID') ?? this.deps.appid
    if (appid !== this.deps.appid) {
      this.deps.log.warn({ event: event.event, eventId: event.id }, 'erasure push for another app; ignored')
      return
    }
    const done = await this.deps.rights.eraseByOpenid(appid, openid, cause, trace)
    erasures.inc({ event: cause, outcome: done === undefined ? 'unknown_user' : 'erased' })
    this.deps.log.info({ event: cause, eventId: event.id, erased: done !== undefined }, done === undefined ? 'erasure push names no current user' : 'account erased on WeChat\'s push')
  }
}
