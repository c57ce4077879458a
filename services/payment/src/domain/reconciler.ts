import type { Pool } from 'pg'
import { withTransaction, type Log } from '@wxmp/core'
import { WechatErrors, type WechatPayClient } from '@wxmp/wechat'
import type { IdempotencyKeys } from './idempotency.js'
import type { Ledger } from './ledger.js'
import { lockOrder, ORDER_COLUMNS, REFUND_COLUMNS, type OrderRow, type RefundRow } from './orders.js'
import type { Refunds } from './refunds.js'
import type { Settlement } from './notifications.js'
import type { Shipping } from './shipping.js'
import type { ShippingEvents } from './shipping-events.js'
import type { VirtualSettlement } from './virtual/settlement.js'

/** One replica at a time: the pass runs under this session-level advisory lock, released when it ends or dies. */
const LOCK_KEY = 0x77786d70 // 'wxmp'

export interface ReconcilerOptions {
  intervalMs: number
  /** An order (or refund) nobody told us about is first queried this long after it was made. */
  afterSeconds: number
  batch: number
  keyTtlHours: number
  /** A paid virtual order not reported this long after payment is reported by the reconciler. */
  shippingAfterSeconds: number
}

export interface PassReport {
  /** False when another replica held the lock and this pass did nothing. */
  ran: boolean
  paid: number
  closed: number
  refundsSettled: number
  keysForgotten: number
  /** Shipments that reached the platform in this pass (uploaded, or found recorded by get_order). */
  shipped: number
}

/**
 * Repairs what notifications did not: WeChat Pay may never deliver one (or we refused it while down). Every
 * `intervalMs`, one replica asks WeChat Pay about orders still PENDING once they are due and settles them through
 * the same code as notifications; closes unpaid orders past their time_expire (at WeChat Pay first, so a payment can
 * no longer land on an order closed here); finishes refunds still PROCESSING; forgets expired Idempotency-Keys.
 */
export class Reconciler {
  private timer?: NodeJS.Timeout
  private running?: Promise<PassReport>
  private stopped = false

  constructor (private readonly deps: {
    pool: Pool
    wechat: WechatPayClient
    ledger: Ledger
    settlement: Settlement
    refunds: Refunds
    keys: IdempotencyKeys
    shipping: Shipping
    shippingEvents: ShippingEvents
    /** Virtual orders are asked about with query_order instead of WeChat Pay's query. */
    virtual?: VirtualSettlement
    log: Log
  }, private readonly opts: ReconcilerOptions) {}

  start (): void {
    this.schedule()
  }

  private schedule (): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      void this.runOnce().catch((err: unknown) => { this.deps.log.error({ err }, 'reconciler pass failed') }).finally(() => { this.schedule() })
    }, this.opts.intervalMs)
    this.timer.unref()
  }

  /** One pass now (or the one already running). */
  async runOnce (): Promise<PassReport> {
    this.running ??= this.pass().finally(() => { this.running = undefined })
    return await this.running
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running?.catch(() => {})
  }

  /**
   * Shipping: a paid virtual order whose report at PAID never ran gets its shipment now, and every shipment not
   * reported yet (refused, or its upload's answer unknown) goes through the same get_order-then-upload path.
   */
  private async shipments (report: PassReport): Promise<void> {
    await this.deps.shipping.planMissedVirtual(this.opts.shippingAfterSeconds, this.opts.batch)
    for (const orderId of await this.deps.shipping.due(this.opts.batch)) {
      if (this.stopped) return
      if (await this.deps.shipping.report(orderId, 'reconciler', this.deps.log) === 'reported') report.shipped++
    }
    await this.deps.shippingEvents.sweepDeadlines(this.opts.batch)
  }

  private async pass (): Promise<PassReport> {
    const report: PassReport = { ran: false, paid: 0, closed: 0, refundsSettled: 0, keysForgotten: 0, shipped: 0 }
    const lock = await this.deps.pool.connect()
    let broken: Error | undefined
    try {
      const { rows } = await lock.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1) AS got', [LOCK_KEY])
      if (rows[0]?.got !== true) return report
      report.ran = true
      try {
        await this.orders(report)
        await this.refundsProcessing(report)
        await this.shipments(report)
        report.keysForgotten = await this.deps.keys.sweep(this.deps.pool, this.opts.keyTtlHours)
        // Dedupe of notification ids outlives WeChat Pay's retry schedule (about a day) many times over; the guarded
        // status updates make an even later replay harmless anyway.
        await this.deps.pool.query("DELETE FROM wechat_notifications WHERE received_at < now() - interval '30 days'")
      } finally {
        await lock.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch((e: Error) => { broken = e })
      }
    } finally {
      lock.release(broken)
    }
    if (report.paid + report.closed + report.refundsSettled + report.shipped > 0) {
      this.deps.log.info(report, 'reconciler settled orders WeChat Pay had not told us about')
    }
    return report
  }

  private async orders (report: PassReport): Promise<void> {
    const { rows } = await this.deps.pool.query<OrderRow>(
      `SELECT ${ORDER_COLUMNS} FROM orders WHERE status = 'PENDING' AND next_check_at <= now() ORDER BY next_check_at LIMIT $1`,
      [this.opts.batch]
    )
    for (const order of rows) {
      if (this.stopped) return
      try {
        await this.order(order, report)
      } catch (err) {
        this.deps.log.warn({ err, orderId: order.id, outTradeNo: order.out_trade_no }, 'could not reconcile order; retrying next pass')
        await this.later(order, 30)
      }
    }
  }

  private async order (order: OrderRow, report: PassReport): Promise<void> {
    const { wechat, settlement, log } = this.deps
    if (order.rail === 'virtual' && this.deps.virtual !== undefined) {
      const seen = await this.deps.virtual.check(order, log)
      if (seen === 'paid') report.paid++
      // No close API: an unpaid virtual order is closed here once it expires (the phone can no longer pay it).
      else if ((seen === 'closed' || order.expires_at.getTime() <= Date.now()) && await this.close(order, seen === 'closed' ? 'closed_at_wechat' : 'expired', { xpay: seen })) report.closed++
      else if (seen !== 'closed') await this.later(order, Math.max(1, Math.min((Date.now() - order.created_at.getTime()) / 1000, (order.expires_at.getTime() - Date.now()) / 1000)))
      return
    }
    let state: string
    try {
      const t = await wechat.queryByOutTradeNo(order.out_trade_no)
      state = t.trade_state
      if (state === 'SUCCESS' || state === 'REFUND') {
        if (await settlement.payment(t, 'reconciler', log)) report.paid++
        return
      }
    } catch (err) {
      // Never prepaid (the create request failed before WeChat Pay saw it, and no retry came).
      if (!(err instanceof WechatErrors.PayNotFound)) throw err
      state = 'NOT_FOUND'
    }
    if (state === 'CLOSED' || state === 'REVOKED') {
      if (await this.close(order, 'closed_at_wechat', { tradeState: state })) report.closed++
      return
    }
    const expired = order.expires_at.getTime() <= Date.now()
    // USERPAYING: the payer is entering a password right now; closing under them would fail the payment.
    if (!expired || state === 'USERPAYING') {
      // Not paid yet: look again later, less often the older the order (its age again, capped at its expiry).
      const ageSeconds = Math.max(1, (Date.now() - order.created_at.getTime()) / 1000)
      const untilExpiry = (order.expires_at.getTime() - Date.now()) / 1000
      await this.later(order, state === 'USERPAYING' ? 30 : Math.max(1, Math.min(ageSeconds, untilExpiry)))
      return
    }
    try {
      await wechat.closeOrder(order.out_trade_no)
    } catch (err) {
      if (err instanceof WechatErrors.PayOrderPaid) {
        // Paid in the last moment: settle it as paid instead.
        const t = await wechat.queryByOutTradeNo(order.out_trade_no)
        if (await settlement.payment(t, 'reconciler', log)) report.paid++
        return
      }
      if (!(err instanceof WechatErrors.PayNotFound)) throw err
    }
    if (await this.close(order, 'expired', { tradeState: state })) report.closed++
  }

  private async close (order: OrderRow, cause: string, detail: Record<string, unknown>): Promise<boolean> {
    return await withTransaction(this.deps.pool, async (client) => {
      const locked = await lockOrder(client, { id: order.id })
      if (locked === undefined) return false
      const closed = await this.deps.ledger.markClosed(client, locked, cause, detail)
      if (closed) this.deps.log.info({ orderId: order.id, outTradeNo: order.out_trade_no, cause }, 'order closed')
      return closed
    })
  }

  private async later (order: OrderRow, seconds: number): Promise<void> {
    await this.deps.pool.query(
      "UPDATE orders SET next_check_at = now() + make_interval(secs => $2) WHERE id = $1 AND status = 'PENDING'",
      [order.id, seconds]
    )
  }

  private async refundsProcessing (report: PassReport): Promise<void> {
    const { rows } = await this.deps.pool.query<RefundRow & { out_trade_no: string }>(
      `SELECT ${REFUND_COLUMNS.split(', ').map((c) => `r.${c}`).join(', ')}, o.out_trade_no FROM refunds r JOIN orders o ON o.id = r.order_id
        WHERE r.status = 'PROCESSING' AND r.updated_at <= now() - make_interval(secs => $1) ORDER BY r.updated_at LIMIT $2`,
      [this.opts.afterSeconds, this.opts.batch]
    )
    for (const refund of rows) {
      if (this.stopped) return
      try {
        if (await this.refund(refund)) report.refundsSettled++
      } catch (err) {
        this.deps.log.warn({ err, outRefundNo: refund.out_refund_no }, 'could not reconcile refund; retrying next pass')
      }
      await this.deps.pool.query("UPDATE refunds SET updated_at = now() WHERE id = $1 AND status = 'PROCESSING'", [refund.id])
    }
  }

  /** Asks WeChat Pay where a refund stands; one it has never seen is applied again under its out_refund_no. */
  private async refund (refund: RefundRow & { out_trade_no: string }): Promise<boolean> {
    const { wechat, refunds } = this.deps
    let result
    try {
      result = await wechat.queryRefund(refund.out_refund_no)
    } catch (err) {
      if (!(err instanceof WechatErrors.PayNotFound)) throw err
      const order = await this.deps.pool.query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1`, [refund.order_id])
      try {
        result = await refunds.apply(order.rows[0] as OrderRow, refund)
      } catch (applyErr) {
        if (applyErr instanceof WechatErrors.PayBadRequest || applyErr instanceof WechatErrors.PayRejected || applyErr instanceof WechatErrors.PayOrderClosed) {
          await refunds.settle(null, refund.order_id, refund.id, 'FAILED', 'reconciler', {})
          return true
        }
        throw applyErr
      }
    }
    if (result.status === 'PROCESSING') return false
    await refunds.applied(null, refund.order_id, refund.id, result, 'reconciler')
    return true
  }
}
