import type { PoolClient } from 'pg'
import { businessCounter, type Log, type TraceContext } from '@wxmp/core'
import { Events, type OrderStatus, type RefundStatus } from '@wxmp/contracts'
import { enqueueEvent } from '@wxmp/service'
import { eventId } from './ids.js'
import { ORDER_COLUMNS, REFUND_COLUMNS, type OrderRow, type RefundRow } from './orders.js'

const transitions = businessCounter('payment_order_transitions_total', 'Order status changes by from, to and cause', ['from', 'to', 'cause'] as const)

/** Counts a transition written by a statement of its own (checkout's single-statement order placement). */
export function countTransition (from: OrderStatus | null, to: OrderStatus, cause: string): void {
  transitions.inc({ from: from ?? 'NEW', to, cause })
}

/** What WeChat Pay says about a successful payment (a TRANSACTION.SUCCESS resource or a query answer). */
export interface PaymentFacts {
  transactionId: string
  /** RFC 3339 with offset, e.g. 2018-06-08T10:34:56+08:00. */
  successTime?: string
}

export interface RefundFacts {
  refundId?: string
  successTime?: string
}

export type RefundOutcome = Exclude<RefundStatus, 'PROCESSING'>

function timeOf (wechatTime: string | undefined): Date {
  const ms = wechatTime === undefined ? NaN : Date.parse(wechatTime)
  return Number.isNaN(ms) ? new Date() : new Date(ms)
}

/** The cause's kind, for metrics: `notification:<id>` counts as `notification`. */
const causeKind = (cause: string): string => cause.split(':')[0] ?? cause

/**
 * Every change of an order's status. Each method runs in the caller's transaction on an order row the caller has
 * locked (lockOrder), changes the status with an UPDATE guarded by the status it expects, records the transition
 * and its cause, and writes the event the change produces to the outbox: all of it commits together or not at all.
 * A method that finds the change already made does nothing and says so.
 *
 *   PENDING -> PAID -> REFUNDING -> REFUNDED | PARTIALLY_REFUNDED (-> REFUNDING again for another refund)
 *   PENDING -> CLOSED; REFUNDING -> PAID when its only refund fails
 *   PAID -> SHIPPED -> CONFIRMED -> SETTLED (WeChat's order shipping management; SHIPPED -> SETTLED when the
 *   settlement arrives first)
 */
export class Ledger {
  constructor (private readonly log: Log) {}

  /** Records a transition made by the caller's own guarded UPDATE (domain files with transitions of their own). */
  async record (client: PoolClient, orderId: string, from: OrderStatus | null, to: OrderStatus, cause: string, detail?: Record<string, unknown>): Promise<void> {
    await client.query(
      'INSERT INTO order_transitions (order_id, from_status, to_status, cause, detail) VALUES ($1, $2, $3, $4, $5)',
      [orderId, from, to, cause, detail === undefined ? null : JSON.stringify(detail)]
    )
    countTransition(from, to, causeKind(cause))
  }

  /**
   * PENDING -> PAID, once, with events.payment.succeeded. A payment for an order already CLOSED here cannot
   * happen when WeChat Pay confirmed the close; if it reports one anyway the money is real, so the order becomes
   * PAID (a refund can return it) and the contradiction is logged as an error.
   */
  async markPaid (client: PoolClient, order: OrderRow, facts: PaymentFacts, cause: string, trace?: TraceContext): Promise<boolean> {
    if (order.status !== 'PENDING' && order.status !== 'CLOSED') return false
    if (order.status === 'CLOSED') {
      this.log.error({ orderId: order.id, outTradeNo: order.out_trade_no, transactionId: facts.transactionId, cause }, 'WeChat Pay reports a payment for an order closed here; recording it as paid')
    }
    const paidAt = timeOf(facts.successTime)
    const { rows } = await client.query<OrderRow>(
      `UPDATE orders SET status = 'PAID', transaction_id = $3, paid_at = $4, closed_at = NULL, updated_at = now()
        WHERE id = $1 AND status = $2 RETURNING ${ORDER_COLUMNS}`,
      [order.id, order.status, facts.transactionId, paidAt]
    )
    const paid = rows[0]
    if (paid === undefined) return false
    await this.record(client, order.id, order.status, 'PAID', cause, { transactionId: facts.transactionId })
    await enqueueEvent(client, Events.paymentSucceeded, {
      orderId: paid.id,
      userId: paid.user_id,
      outTradeNo: paid.out_trade_no,
      transactionId: facts.transactionId,
      productId: paid.product_id,
      quantity: paid.quantity,
      amount: paid.amount,
      paidAt: paidAt.toISOString()
    }, { id: eventId('payment.succeeded', order.id), ...(trace === undefined ? {} : { trace }) })
    Object.assign(order, paid)
    return true
  }

  /** PENDING -> CLOSED: the order can no longer be paid (closed at WeChat Pay first). */
  async markClosed (client: PoolClient, order: OrderRow, cause: string, detail?: Record<string, unknown>): Promise<boolean> {
    const { rows } = await client.query<OrderRow>(
      `UPDATE orders SET status = 'CLOSED', closed_at = now(), updated_at = now() WHERE id = $1 AND status = 'PENDING' RETURNING ${ORDER_COLUMNS}`,
      [order.id]
    )
    if (rows[0] === undefined) return false
    await this.record(client, order.id, 'PENDING', 'CLOSED', cause, detail)
    Object.assign(order, rows[0])
    return true
  }

  /**
   * A new refund of `amount` (already checked against what is left): PAID | PARTIALLY_REFUNDED -> REFUNDING, or
   * REFUND_REQUESTED -> REFUNDING when staff approve a buyer's request.
   */
  async openRefund (client: PoolClient, order: OrderRow, refund: { outRefundNo: string, amount: number, reason: string | null }, cause: string): Promise<RefundRow> {
    const { rows } = await client.query<RefundRow>(
      `INSERT INTO refunds (order_id, out_refund_no, amount, reason) VALUES ($1, $2, $3, $4) RETURNING ${REFUND_COLUMNS}`,
      [order.id, refund.outRefundNo, refund.amount, refund.reason]
    )
    if (order.status !== 'REFUNDING') {
      const { rows: updated } = await client.query<OrderRow>(
        `UPDATE orders SET status = 'REFUNDING', updated_at = now() WHERE id = $1 AND status IN ('PAID', 'PARTIALLY_REFUNDED', 'REFUND_REQUESTED') RETURNING ${ORDER_COLUMNS}`,
        [order.id]
      )
      if (updated[0] === undefined) throw new Error(`order ${order.id} is ${order.status}; a refund cannot start`)
      await this.record(client, order.id, order.status, 'REFUNDING', cause, { outRefundNo: refund.outRefundNo, amount: refund.amount })
      Object.assign(order, updated[0])
    }
    return rows[0] as RefundRow
  }

  /**
   * A PROCESSING refund reaches its outcome, once. The order then follows from its refunds: REFUNDING while any is
   * still processing, else REFUNDED when they add up to the amount, PARTIALLY_REFUNDED when some did, PAID when
   * none did. A successful refund writes events.payment.refunded.
   */
  async settleRefund (client: PoolClient, order: OrderRow, refund: RefundRow, outcome: RefundOutcome, cause: string, facts: RefundFacts = {}, trace?: TraceContext): Promise<boolean> {
    const settledAt = outcome === 'SUCCESS' ? timeOf(facts.successTime) : new Date()
    const { rows } = await client.query<RefundRow>(
      `UPDATE refunds SET status = $2, refund_id = COALESCE($3, refund_id), settled_at = $4, updated_at = now()
        WHERE id = $1 AND status = 'PROCESSING' RETURNING ${REFUND_COLUMNS}`,
      [refund.id, outcome, facts.refundId ?? null, settledAt]
    )
    const settled = rows[0]
    if (settled === undefined) return false
    Object.assign(refund, settled)
    if (outcome === 'ABNORMAL') {
      this.log.error({ orderId: order.id, outRefundNo: refund.out_refund_no }, 'refund ABNORMAL at WeChat Pay: the payer\'s account could not receive it; handle it in the merchant platform')
    }
    const { rows: sums } = await client.query<{ refunded: number, inflight: number }>(
      `SELECT COALESCE(sum(amount) FILTER (WHERE status = 'SUCCESS'), 0)::int AS refunded,
              count(*) FILTER (WHERE status = 'PROCESSING')::int AS inflight
         FROM refunds WHERE order_id = $1`,
      [order.id]
    )
    const { refunded, inflight } = sums[0] as { refunded: number, inflight: number }
    const next: OrderStatus = inflight > 0 ? 'REFUNDING' : refunded >= order.amount ? 'REFUNDED' : refunded > 0 ? 'PARTIALLY_REFUNDED' : 'PAID'
    const { rows: updated } = await client.query<OrderRow>(
      `UPDATE orders SET status = $2, refunded_amount = $3, updated_at = now() WHERE id = $1 AND status = 'REFUNDING' RETURNING ${ORDER_COLUMNS}`,
      [order.id, next, refunded]
    )
    // Every path that starts a refund moves the order to REFUNDING first; anything else is a bug to surface.
    if (updated[0] === undefined) throw new Error(`order ${order.id} is ${order.status} while refund ${refund.out_refund_no} settles`)
    if (next !== order.status) await this.record(client, order.id, order.status, next, cause, { outRefundNo: refund.out_refund_no, refund: outcome })
    Object.assign(order, updated[0])
    if (outcome === 'SUCCESS') {
      await enqueueEvent(client, Events.paymentRefunded, {
        orderId: order.id,
        userId: order.user_id,
        outTradeNo: order.out_trade_no,
        outRefundNo: refund.out_refund_no,
        refundId: settled.refund_id,
        amount: refund.amount,
        refundedAmount: refunded,
        orderStatus: next,
        refundedAt: settledAt.toISOString()
      }, { id: eventId('payment.refunded', refund.id), ...(trace === undefined ? {} : { trace }) })
    }
    return true
  }

  /** PAID -> SHIPPED once the platform has the shipping, with events.payment.shipped. */
  async markShipped (client: PoolClient, order: OrderRow, logisticsType: number, cause: string, trace?: TraceContext): Promise<boolean> {
    const { rows } = await client.query<OrderRow>(
      `UPDATE orders SET status = 'SHIPPED', updated_at = now() WHERE id = $1 AND status = 'PAID' RETURNING ${ORDER_COLUMNS}`,
      [order.id]
    )
    const shipped = rows[0]
    if (shipped === undefined) return false
    await this.record(client, order.id, 'PAID', 'SHIPPED', cause, { logisticsType })
    await enqueueEvent(client, Events.paymentShipped, {
      orderId: shipped.id,
      userId: shipped.user_id,
      outTradeNo: shipped.out_trade_no,
      transactionId: shipped.transaction_id ?? '',
      logisticsType,
      shippedAt: new Date().toISOString()
    }, { id: eventId('payment.shipped', order.id), ...(trace === undefined ? {} : { trace }) })
    Object.assign(order, shipped)
    return true
  }

  /** SHIPPED -> CONFIRMED: the buyer (or the platform) confirmed receipt; the money is still frozen until settled. */
  async markConfirmed (client: PoolClient, order: OrderRow, cause: string, detail?: Record<string, unknown>): Promise<boolean> {
    const { rows } = await client.query<OrderRow>(
      `UPDATE orders SET status = 'CONFIRMED', updated_at = now() WHERE id = $1 AND status = 'SHIPPED' RETURNING ${ORDER_COLUMNS}`,
      [order.id]
    )
    if (rows[0] === undefined) return false
    await this.record(client, order.id, 'SHIPPED', 'CONFIRMED', cause, detail)
    Object.assign(order, rows[0])
    return true
  }

  /** SHIPPED | CONFIRMED -> SETTLED: the platform settled the payment to the merchant, with events.payment.settled. */
  async markSettled (client: PoolClient, order: OrderRow, settledAt: Date, cause: string, detail?: Record<string, unknown>, trace?: TraceContext): Promise<boolean> {
    const from = order.status
    if (from !== 'SHIPPED' && from !== 'CONFIRMED') return false
    const { rows } = await client.query<OrderRow>(
      `UPDATE orders SET status = 'SETTLED', updated_at = now() WHERE id = $1 AND status = $2 RETURNING ${ORDER_COLUMNS}`,
      [order.id, from]
    )
    const settled = rows[0]
    if (settled === undefined) return false
    await this.record(client, order.id, from, 'SETTLED', cause, detail)
    await enqueueEvent(client, Events.paymentSettled, {
      orderId: settled.id,
      userId: settled.user_id,
      outTradeNo: settled.out_trade_no,
      transactionId: settled.transaction_id ?? '',
      amount: settled.amount,
      settledAt: settledAt.toISOString()
    }, { id: eventId('payment.settled', order.id), ...(trace === undefined ? {} : { trace }) })
    Object.assign(order, settled)
    return true
  }
}
