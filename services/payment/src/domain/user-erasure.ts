import type { Pool } from 'pg'
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { Events, type UserDeletedEvent } from '@wxmp/contracts'
import { businessCounter, withTransaction, type Log } from '@wxmp/core'
import { eventsStreamName } from '@wxmp/nats'

/** The durable consumer of events.user.deleted; named in the NATS permission matrix. */
export const USER_DELETED_CONSUMER = 'payment-user-deleted'

const erased = businessCounter('payment_user_erasures_total', 'Deleted users whose payer data payment erased, by outcome (erased, duplicate)', ['outcome'] as const)

/**
 * Pseudonymises a deleted user's orders: they stay (accounting needs them) under the user id, which names nobody
 * any more, and the payer openid and the shipment's receiver contact are erased. A paid order whose shipping is not
 * reported yet keeps the openid until it is (WeChat's upload names the payer); Shipping erases it then. A durable
 * consumer with explicit ack: the event is acknowledged after the erasure committed, and a redelivery changes
 * nothing.
 */
export class UserErasure {
  private messages?: ConsumerMessages
  private loop?: Promise<void>
  private stopped = false

  constructor (private readonly deps: { pool: Pool, log: Log, forget: (userId: string) => void }) {}

  /** Starts consuming in the background, retrying the setup until the stream exists and NATS answers. */
  start (nc: NatsConnection, prefix: string): void {
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          await this.consume(nc, prefix)
        } catch (err) {
          if (!this.stopped) this.deps.log.warn({ err }, 'user deletion consumer not running; retrying')
        }
        if (!this.stopped) await new Promise((resolve) => setTimeout(resolve, 1000))
      }
    })()
  }

  private async consume (nc: NatsConnection, prefix: string): Promise<void> {
    const stream = eventsStreamName(prefix)
    const jsm = await jetstreamManager(nc)
    await jsm.consumers.info(stream, USER_DELETED_CONSUMER).catch(async () => await jsm.consumers.add(stream, {
      durable_name: USER_DELETED_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: prefix + Events.userDeleted.subject,
      ack_wait: 30_000_000_000
    }))
    const consumer = await jetstream(nc).consumers.get(stream, USER_DELETED_CONSUMER)
    const messages = await consumer.consume({ max_messages: 32 })
    this.messages = messages
    if (this.stopped) await messages.close()
    for await (const m of messages) {
      try {
        await this.handle(m.json<UserDeletedEvent>())
        m.ack()
      } catch (err) {
        this.deps.log.error({ err, subject: m.subject }, 'user deletion not applied; redelivered later')
        m.nak(5000)
      }
    }
  }

  async stop (): Promise<void> {
    this.stopped = true
    await this.messages?.close()
    await this.loop
  }

  /** Applies one deletion once; a redelivery changes nothing. */
  async handle (event: UserDeletedEvent): Promise<void> {
    const outcome = await withTransaction(this.deps.pool, async (client) => {
      const { rowCount } = await client.query('INSERT INTO erased_users (user_id, event_id) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING', [event.userId, event.id])
      if (rowCount !== 1) return 'duplicate'
      const { rows } = await client.query<{ id: string }>(
        "UPDATE orders SET payer_openid = NULL, updated_at = now() WHERE user_id = $1 AND status <> 'PAID' AND payer_openid IS NOT NULL RETURNING id",
        [event.userId])
      await client.query(
        `UPDATE shipments SET receiver_contact = NULL
          WHERE receiver_contact IS NOT NULL AND order_id IN (SELECT id FROM orders WHERE user_id = $1 AND status <> 'PAID')`, [event.userId])
      this.deps.log.info({ userId: event.userId, orders: rows.length }, 'deleted user\'s payer data erased')
      return 'erased'
    })
    this.deps.forget(event.userId)
    erased.inc({ outcome })
  }
}
