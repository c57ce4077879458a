import type { Pool, PoolClient } from 'pg'
import type { MsgHdrs } from '@nats-io/transport-node'
import { businessCounter, withTransaction, type Log, type TraceContext } from '@wxmp/core'
import type { NotifyReply } from '@wxmp/contracts'
import type { RefundNotice, Transaction, WechatPayClient } from '@wxmp/wechat'
import { PaymentErrors } from '../errors.js'
import type { Ledger, RefundOutcome } from './ledger.js'
import { lockOrder, REFUND_COLUMNS, type OrderRow, type RefundRow } from './orders.js'

const notifications = businessCounter('payment_notifications_total', 'WeChat Pay notifications by event type and outcome', ['event', 'outcome'] as const)

/** The merchant this service is: what every payment it accepts must name. */
export interface Merchant { appid: string, mchid: string }

/** Why a payment report does not fit the order it names; empty when it fits. */
export function paymentMismatches (order: OrderRow, t: Transaction, merchant: Merchant): string[] {
  const problems: string[] = []
  if (t.appid !== merchant.appid) problems.push('appid')
  if (t.mchid !== merchant.mchid) problems.push('mchid')
  if (t.amount?.total !== order.amount) problems.push('amount')
  if (t.amount?.currency !== undefined && t.amount.currency !== 'CNY') problems.push('currency')
  if (typeof t.transaction_id !== 'string' || t.transaction_id === '') problems.push('transaction_id')
  return problems
}

function headerRecord (headers: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  if (headers === undefined) return out
  for (const k of headers.keys()) out[k.toLowerCase()] = headers.get(k)
  return out
}

/**
 * Settles payments: from notifications, and from the reconciler's queries, through the same code. Each settlement
 * is one transaction: lock the order, check the report against it, note the notification id, and move the order
 * through the ledger (a guarded UPDATE plus the outbox event). A replay finds the id noted (or the order already
 * moved) and changes nothing.
 */
export class Settlement {
  constructor (private readonly deps: {
    pool: Pool
    ledger: Ledger
    wechat: WechatPayClient
    merchant: Merchant
    /** Called after an order's PAID commits (virtual goods are reported to shipping management from here). */
    afterPaid?: (orderId: string, log: Log, trace?: TraceContext) => void
  }) {}

  /**
   * A notification as the gateway relayed it: raw body bytes and Wechatpay-* headers. Answers when it is acted on
   * or was already; throws 401 (signature, timestamp), 400 (undecryptable, another merchant, contradicts the
   * order) with nothing changed; any other failure is a 5xx, so WeChat Pay delivers it again later.
   */
  async notification (raw: Uint8Array, headers: MsgHdrs | undefined, trace: TraceContext, log: Log): Promise<NotifyReply> {
    let n
    try {
      n = this.deps.wechat.verifyNotification<Record<string, unknown>>(headerRecord(headers), Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength))
    } catch (err) {
      notifications.inc({ event: 'unknown', outcome: 'rejected' })
      throw err
    }
    const nlog = log.child({ notificationId: n.id, eventType: n.event_type })
    let duplicate: boolean
    try {
      if (n.event_type === 'TRANSACTION.SUCCESS') {
        duplicate = !(await this.payment(n.resource as unknown as Transaction, `notification:${n.id}`, nlog, trace, { id: n.id, eventType: n.event_type }))
      } else if (n.event_type.startsWith('REFUND.')) {
        duplicate = !(await this.refund(n.resource as unknown as RefundNotice, `notification:${n.id}`, nlog, trace, { id: n.id, eventType: n.event_type }))
      } else {
        // Nothing here acts on other events; answering 200 stops WeChat Pay from sending them again and again.
        nlog.warn('notification of an unhandled event type acknowledged')
        duplicate = false
      }
    } catch (err) {
      notifications.inc({ event: n.event_type, outcome: (err as { statusCode?: number }).statusCode === 400 ? 'rejected' : 'failed' })
      throw err
    }
    notifications.inc({ event: n.event_type, outcome: duplicate ? 'duplicate' : 'applied' })
    return { duplicate }
  }

  /**
   * WeChat Pay reports `t` as paid (notification or query): PENDING -> PAID once. Returns false when it had been
   * settled already. A report that contradicts the order is logged and refused.
   */
  async payment (t: Transaction, cause: string, log: Log, trace?: TraceContext, notification?: { id: string, eventType: string }): Promise<boolean> {
    const paid = await this.paymentInTransaction(t, cause, log, trace, notification)
    if (paid.orderId !== undefined) this.deps.afterPaid?.(paid.orderId, log, trace)
    return paid.orderId !== undefined
  }

  private async paymentInTransaction (t: Transaction, cause: string, log: Log, trace?: TraceContext, notification?: { id: string, eventType: string }): Promise<{ orderId?: string }> {
    return await withTransaction(this.deps.pool, async (client) => {
      const order = await lockOrder(client, { outTradeNo: String(t.out_trade_no) })
      if (order === undefined) {
        log.error({ outTradeNo: t.out_trade_no, transactionId: t.transaction_id, cause }, 'WeChat Pay reports a payment for an order that does not exist here')
        throw new PaymentErrors.PaymentMismatch('unknown out_trade_no')
      }
      if (t.trade_state !== 'SUCCESS' && t.trade_state !== 'REFUND') throw new PaymentErrors.PaymentMismatch(`trade_state ${String(t.trade_state)}`)
      const problems = paymentMismatches(order, t, this.deps.merchant)
      if (problems.length > 0) {
        log.error({
          orderId: order.id,
          outTradeNo: order.out_trade_no,
          mismatch: problems,
          expected: { amount: order.amount, appid: this.deps.merchant.appid, mchid: this.deps.merchant.mchid },
          received: { amount: t.amount?.total, currency: t.amount?.currency, appid: t.appid, mchid: t.mchid, transactionId: t.transaction_id },
          cause
        }, 'payment report does not match the order; refused')
        throw new PaymentErrors.PaymentMismatch(problems.join(', '))
      }
      if (notification !== undefined && !(await this.firstSeen(client, notification, order.out_trade_no))) return {}
      const paid = await this.deps.ledger.markPaid(client, order, {
        transactionId: t.transaction_id as string,
        ...(t.success_time === undefined ? {} : { successTime: t.success_time })
      }, cause, trace)
      if (paid) log.info({ orderId: order.id, outTradeNo: order.out_trade_no, amount: order.amount, cause }, 'order paid')
      return paid ? { orderId: order.id } : {}
    })
  }

  /** WeChat Pay reports a refund's outcome (REFUND.* notification): settles it once. */
  async refund (notice: RefundNotice, cause: string, log: Log, trace?: TraceContext, notification?: { id: string, eventType: string }): Promise<boolean> {
    return await withTransaction(this.deps.pool, async (client) => {
      const { rows: found } = await client.query<{ order_id: string }>('SELECT order_id FROM refunds WHERE out_refund_no = $1', [String(notice.out_refund_no)])
      const orderId = found[0]?.order_id
      const order = orderId === undefined ? undefined : await lockOrder(client, { id: orderId })
      const { rows } = await client.query<RefundRow>(`SELECT ${REFUND_COLUMNS} FROM refunds WHERE out_refund_no = $1 FOR UPDATE`, [String(notice.out_refund_no)])
      const refund = rows[0]
      const problems: string[] = []
      if (order === undefined || refund === undefined) problems.push('unknown out_refund_no')
      else {
        if (notice.out_trade_no !== order.out_trade_no) problems.push('out_trade_no')
        if (notice.amount?.refund !== refund.amount) problems.push('amount')
        if (notice.mchid !== this.deps.merchant.mchid) problems.push('mchid')
      }
      const outcome = notice.refund_status as RefundOutcome
      if (!['SUCCESS', 'CLOSED', 'ABNORMAL'].includes(outcome)) problems.push('refund_status')
      if (problems.length > 0 || order === undefined || refund === undefined) {
        log.error({ outRefundNo: notice.out_refund_no, outTradeNo: notice.out_trade_no, mismatch: problems, expected: { amount: refund?.amount }, received: { amount: notice.amount?.refund, status: notice.refund_status }, cause }, 'refund report does not match; refused')
        throw new PaymentErrors.PaymentMismatch(problems.join(', '))
      }
      if (notification !== undefined && !(await this.firstSeen(client, notification, refund.out_refund_no))) return false
      const settled = await this.deps.ledger.settleRefund(client, order, refund, outcome, cause, {
        refundId: notice.refund_id,
        ...(notice.success_time === undefined ? {} : { successTime: notice.success_time })
      }, trace)
      if (settled) log.info({ orderId: order.id, outRefundNo: refund.out_refund_no, outcome, orderStatus: order.status, cause }, 'refund settled')
      return settled
    })
  }

  /** Notes a notification id; false if it was noted before (a redelivery). */
  private async firstSeen (client: PoolClient, n: { id: string, eventType: string }, subject: string): Promise<boolean> {
    const { rowCount } = await client.query(
      'INSERT INTO wechat_notifications (id, event_type, subject) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING',
      [n.id, n.eventType, subject]
    )
    return rowCount === 1
  }
}
