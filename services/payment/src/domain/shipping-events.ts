import type { Pool } from 'pg'
import type { NatsConnection } from '@nats-io/transport-node'
import { Events, wechatPushSubject, type WechatPushEvent } from '@wxmp/contracts'
import { businessCounter, withTransaction, type Log } from '@wxmp/core'
import { enqueueEvent } from '@wxmp/service'
import { DurableConsumer } from '@wxmp/nats'
import { eventId } from './ids.js'
import type { Ledger } from './ledger.js'
import { lockOrder, type OrderRow } from './orders.js'

/** The durable consumer of the pushes payment acts on; named in the NATS permission matrix. */
export const SHIPPING_CONSUMER = 'payment-shipping'
export const SETTLEMENT_EVENT = 'trade_manage_order_settlement'
export const REMIND_SHIPPING_EVENT = 'trade_manage_remind_shipping'

/** WeChat's rule: a physical order must ship within 48 hours of payment. */
export const SHIPPING_DEADLINE_HOURS = 48

const pushes = businessCounter('payment_shipping_pushes_total', 'Shipping pushes consumed by event and outcome (applied, duplicate, unknown_order)', ['event', 'outcome'] as const)
const overdue = businessCounter('payment_shipping_overdue_total', 'Paid orders flagged as near or past the 48 h shipping deadline, by cause (remind_shipping, deadline)', ['cause'] as const)

const num = (v: unknown): number | undefined => {
  const n = typeof v === 'string' && v !== '' ? Number(v) : v
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined
}

/**
 * The platform's side of shipping, as auth published it from the message push: `trade_manage_order_settlement`
 * moves an order SHIPPED -> CONFIRMED (receipt confirmed) -> SETTLED (money released), and
 * `trade_manage_remind_shipping` flags a paid order as overdue. A durable consumer with explicit ack: an event is
 * acknowledged only after its change committed, and a redelivery finds its id noted and changes nothing.
 */
export class ShippingEvents {
  private readonly consumer: DurableConsumer<WechatPushEvent>

  constructor (private readonly deps: {
    pool: Pool
    ledger: Ledger
    log: Log
    deadlineMarginHours: number
    /** The virtual rail's pushes (xpay_*) ride the same consumer and are handed to it. */
    virtual?: { handle: (event: WechatPushEvent) => Promise<boolean> }
  }) {
    // One filter for every push (nats-server 2.9 takes one): those payment does not act on are acknowledged and dropped.
    this.consumer = new DurableConsumer<WechatPushEvent>({
      durable: SHIPPING_CONSUMER,
      filter: wechatPushSubject('>'),
      what: 'shipping push',
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

  /** Applies one push event once; a redelivery changes nothing. */
  async handle (event: WechatPushEvent): Promise<void> {
    if (this.deps.virtual !== undefined && await this.deps.virtual.handle(event)) return
    if (event.event !== SETTLEMENT_EVENT && event.event !== REMIND_SHIPPING_EVENT) return
    const m = event.message
    const outcome = await withTransaction(this.deps.pool, async (client) => {
      const transactionId = typeof m.transaction_id === 'string' ? m.transaction_id : undefined
      const outTradeNo = typeof m.merchant_trade_no === 'string' ? m.merchant_trade_no : undefined
      const found = transactionId !== undefined
        ? await client.query<{ id: string }>('SELECT id FROM orders WHERE transaction_id = $1', [transactionId])
        : outTradeNo !== undefined ? await client.query<{ id: string }>('SELECT id FROM orders WHERE out_trade_no = $1', [outTradeNo]) : undefined
      const orderId = found?.rows[0]?.id
      if (orderId === undefined) {
        this.deps.log.warn({ event: event.event, transactionId, outTradeNo }, 'shipping push for an order unknown here; ignored')
        return 'unknown_order'
      }
      const { rowCount } = await client.query('INSERT INTO shipping_events (id, event) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [event.id, event.event])
      if (rowCount !== 1) return 'duplicate'
      const order = await lockOrder(client, { id: orderId }) as OrderRow
      const cause = `push:${event.id}`
      if (event.event === SETTLEMENT_EVENT) {
        // The platform confirming or settling means it has the shipment, whatever our last upload's answer was.
        if (order.status === 'PAID') {
          await client.query("UPDATE shipments SET state = 'reported', reported_at = now(), claimed_until = NULL, updated_at = now() WHERE order_id = $1", [order.id])
          const type = (await client.query<{ t: number }>('SELECT logistics_type AS t FROM shipments WHERE order_id = $1', [order.id])).rows[0]?.t ?? 0
          await this.deps.ledger.markShipped(client, order, type, cause)
        }
        const detail = { confirmReceiveMethod: m.confirm_receive_method, confirmReceiveTime: m.confirm_receive_time }
        if (order.status === 'SHIPPED' && num(m.confirm_receive_time) !== undefined) await this.deps.ledger.markConfirmed(client, order, cause, detail)
        const settledAt = num(m.settlement_time)
        if (settledAt !== undefined) await this.deps.ledger.markSettled(client, order, new Date(settledAt * 1000), cause, { ...detail, settlementTime: settledAt })
      } else if (event.event === REMIND_SHIPPING_EVENT) {
        await this.flagOverdue(client, order, 'remind_shipping')
      }
      return 'applied'
    })
    pushes.inc({ event: event.event, outcome })
  }

  /** PAID physical orders whose 48 h deadline is within the margin: events.payment.shipping_overdue, once each. */
  async sweepDeadlines (limit: number): Promise<number> {
    const { rows } = await this.deps.pool.query<{ id: string }>(
      `SELECT id FROM orders WHERE status = 'PAID' AND delivery <> 'virtual' AND shipping_overdue_at IS NULL
          AND paid_at <= now() - make_interval(hours => $1) ORDER BY paid_at LIMIT $2`,
      [SHIPPING_DEADLINE_HOURS - this.deps.deadlineMarginHours, limit]
    )
    let n = 0
    for (const { id } of rows) {
      await withTransaction(this.deps.pool, async (client) => {
        const order = await lockOrder(client, { id })
        if (order !== undefined && await this.flagOverdue(client, order, 'deadline')) n++
      })
    }
    return n
  }

  private async flagOverdue (client: Parameters<Parameters<typeof withTransaction>[1]>[0], order: OrderRow, cause: 'remind_shipping' | 'deadline'): Promise<boolean> {
    if (order.status !== 'PAID' || order.paid_at === null) return false
    const { rowCount } = await client.query('UPDATE orders SET shipping_overdue_at = now() WHERE id = $1 AND shipping_overdue_at IS NULL', [order.id])
    if (rowCount !== 1) return false
    const deadline = new Date(order.paid_at.getTime() + SHIPPING_DEADLINE_HOURS * 3600_000)
    await enqueueEvent(client, Events.paymentShippingOverdue, {
      orderId: order.id,
      outTradeNo: order.out_trade_no,
      transactionId: order.transaction_id ?? '',
      deadline: deadline.toISOString(),
      cause
    }, { id: eventId('payment.shipping_overdue', order.id) })
    overdue.inc({ cause })
    this.deps.log.warn({ orderId: order.id, outTradeNo: order.out_trade_no, deadline: deadline.toISOString(), cause }, 'paid order not shipped and its 48 h deadline is near')
    return true
  }
}
