import type { Pool } from 'pg'
import type { NatsConnection } from '@nats-io/transport-node'
import { Events, type UserDeletedEvent } from '@wxmp/contracts'
import { businessCounter, withTransaction, type Log } from '@wxmp/core'
import { DurableConsumer } from '@wxmp/nats'

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
  private readonly consumer: DurableConsumer<UserDeletedEvent>

  constructor (private readonly deps: { pool: Pool, log: Log, forget: (userId: string) => void }) {
    this.consumer = new DurableConsumer<UserDeletedEvent>({
      durable: USER_DELETED_CONSUMER,
      filter: Events.userDeleted.subject,
      what: 'user deletion',
      handle: async (event) => { await this.handle(event) },
      log: deps.log
    })
  }

  /** Starts consuming in the background (see DurableConsumer: set-up retried, acks after the change committed). */
  start (nc: NatsConnection, prefix: string): void {
    this.consumer.start(nc, prefix)
  }

  async stop (): Promise<void> {
    await this.consumer.stop()
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
