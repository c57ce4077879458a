import type { Pool } from 'pg'
import { businessCounter, withTransaction, type Log, type TraceContext } from '@wxmp/core'
import type { WechatPushEvent } from '@wxmp/contracts'
import { XpayOrderStatus, type Refund as WechatRefund, type XpayClient } from '@wxmp/wechat'
import { PaymentErrors } from '../../errors.js'
import type { Ledger, RefundOutcome } from '../ledger.js'
import { lockOrder, payerOpenid, REFUND_COLUMNS, type OrderRow, type RefundRow } from '../orders.js'
import type { XpaySettings } from './checkout.js'

export const DELIVER_EVENT = 'xpay_goods_deliver_notify'
export const REFUND_EVENT = 'xpay_refund_notify'

const pushes = businessCounter('payment_virtual_pushes_total', 'Virtual-payment pushes consumed, by event and outcome (applied, duplicate, unknown_order, mismatch)', ['event', 'outcome'] as const)

const str = (v: unknown): string | undefined => typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined
const int = (v: unknown): number | undefined => {
  const n = typeof v === 'string' && v !== '' ? Number(v) : v
  return typeof n === 'number' && Number.isInteger(n) ? n : undefined
}
const obj = (v: unknown): Record<string, unknown> => v !== null && typeof v === 'object' ? v as Record<string, unknown> : {}

/** What the reconciler learnt about a virtual order from query_order. */
export type VirtualCheck = 'paid' | 'closed' | 'unpaid' | 'unknown_at_wechat'

/**
 * The virtual rail after checkout: WeChat's deliver push marks the order PAID once (goods delivered, with
 * events.payment.succeeded), the refund push settles refunds, refunds go through refund_order, and the reconciler
 * asks query_order about orders whose push was lost (and tells WeChat with notify_provide_goods that it delivered).
 */
export class VirtualSettlement {
  constructor (private readonly deps: {
    pool: Pool
    ledger: Ledger
    xpay: XpayClient | undefined
    settings: XpaySettings | undefined
    log: Log
  }) {}

  private client (): { xpay: XpayClient, settings: XpaySettings } {
    // Not configured: a refund waits (PROCESSING, retried) until it is; 503 to the caller meanwhile.
    if (this.deps.xpay === undefined || this.deps.settings === undefined) throw new PaymentErrors.VirtualPaymentUnavailable()
    return { xpay: this.deps.xpay, settings: this.deps.settings }
  }

  /** A push event from auth (JetStream); true when it is one of the virtual rail's. Applied once per event id. */
  async handle (event: WechatPushEvent): Promise<boolean> {
    if (event.event !== DELIVER_EVENT && event.event !== REFUND_EVENT) return false
    const outcome = event.event === DELIVER_EVENT ? await this.delivered(event) : await this.refunded(event)
    pushes.inc({ event: event.event, outcome })
    return true
  }

  /** xpay_goods_deliver_notify: the buyer paid; deliver (PENDING -> PAID) once, whatever the number of retries. */
  private async delivered (event: WechatPushEvent): Promise<string> {
    const m = event.message
    const outTradeNo = str(m.OutTradeNo)
    const pay = obj(m.WeChatPayInfo)
    const goods = obj(m.GoodsInfo)
    const log = this.deps.log.child({ event: event.event, outTradeNo })
    return await withTransaction(this.deps.pool, async (client) => {
      const order = outTradeNo === undefined ? undefined : await lockOrder(client, { outTradeNo })
      if (order === undefined || order.rail !== 'virtual') {
        log.warn('virtual-payment delivery for an order unknown here; acknowledged, nothing changed')
        return 'unknown_order'
      }
      const problems: string[] = []
      if (str(m.OpenId) !== order.payer_openid) problems.push('OpenId')
      if (str(goods.ProductId) !== order.product_id) problems.push('ProductId')
      if (int(goods.Quantity) !== order.quantity) problems.push('Quantity')
      if (int(goods.ActualPrice) !== order.amount) problems.push('ActualPrice')
      if (problems.length > 0) {
        log.error({ orderId: order.id, mismatch: problems, expected: { amount: order.amount, productId: order.product_id, quantity: order.quantity }, received: { actualPrice: goods.ActualPrice, productId: goods.ProductId, quantity: goods.Quantity } }, 'virtual-payment delivery does not match the order; refused')
        return 'mismatch'
      }
      if (!(await this.firstSeen(client, event, order.out_trade_no))) return 'duplicate'
      const paid = await this.deps.ledger.markPaid(client, order, {
        transactionId: str(pay.TransactionId) ?? str(pay.MchOrderNo) ?? `xpay:${order.out_trade_no}`,
        ...(int(pay.PaidTime) === undefined ? {} : { successTime: new Date((int(pay.PaidTime) as number) * 1000).toISOString() })
      }, `push:${event.id}`)
      if (paid) log.info({ orderId: order.id, amount: order.amount }, 'virtual order paid and delivered')
      return paid ? 'applied' : 'duplicate'
    })
  }

  /** xpay_refund_notify: a refund reached the buyer (RetCode 0) or failed; settled once. */
  private async refunded (event: WechatPushEvent): Promise<string> {
    const m = event.message
    const outRefundNo = str(m.MchRefundId)
    const log = this.deps.log.child({ event: event.event, outRefundNo })
    return await withTransaction(this.deps.pool, async (client) => {
      const found = outRefundNo === undefined ? [] : (await client.query<{ order_id: string }>('SELECT order_id FROM refunds WHERE out_refund_no = $1', [outRefundNo])).rows
      const order = found[0] === undefined ? undefined : await lockOrder(client, { id: found[0].order_id })
      const refund = order === undefined ? undefined : (await client.query<RefundRow>(`SELECT ${REFUND_COLUMNS} FROM refunds WHERE out_refund_no = $1 FOR UPDATE`, [outRefundNo])).rows[0]
      if (order === undefined || refund === undefined || order.rail !== 'virtual') {
        log.warn('virtual-payment refund push for a refund unknown here; acknowledged, nothing changed')
        return 'unknown_order'
      }
      if (str(m.MchOrderId) !== order.out_trade_no || int(m.RefundFee) !== refund.amount) {
        log.error({ orderId: order.id, expected: { amount: refund.amount, outTradeNo: order.out_trade_no }, received: { refundFee: m.RefundFee, mchOrderId: m.MchOrderId } }, 'virtual-payment refund push does not match the refund; refused')
        return 'mismatch'
      }
      if (!(await this.firstSeen(client, event, refund.out_refund_no))) return 'duplicate'
      const outcome: RefundOutcome = int(m.RetCode) === 0 ? 'SUCCESS' : 'FAILED'
      const at = int(m.RefundSuccTimestamp)
      const settled = await this.deps.ledger.settleRefund(client, order, refund, outcome, `push:${event.id}`, {
        ...(str(m.WxRefundId) === undefined ? {} : { refundId: str(m.WxRefundId) as string }),
        ...(at === undefined || at === 0 ? {} : { successTime: new Date(at * 1000).toISOString() })
      })
      if (settled) log.info({ orderId: order.id, outcome, orderStatus: order.status }, 'virtual-payment refund settled')
      return settled ? 'applied' : 'duplicate'
    })
  }

  /**
   * Asks WeChat for a refund with refund_order; the same out_refund_no is the same refund there. The outcome comes
   * with xpay_refund_notify, so the answer is always PROCESSING here.
   */
  async refund (order: OrderRow, refund: RefundRow, leftBefore: number): Promise<WechatRefund> {
    const { xpay, settings } = this.client()
    const r = await xpay.refundOrder({
      openid: payerOpenid(order),
      order_id: order.out_trade_no,
      refund_order_id: refund.out_refund_no,
      left_fee: leftBefore,
      refund_fee: refund.amount,
      refund_reason: '3',
      req_from: '2',
      env: settings.env
    })
    return {
      refund_id: 'refund_wx_order_id' in r ? r.refund_wx_order_id : (refund.refund_id ?? ''),
      out_refund_no: refund.out_refund_no,
      transaction_id: order.transaction_id ?? '',
      out_trade_no: order.out_trade_no,
      channel: 'ORIGINAL',
      user_received_account: '',
      create_time: new Date().toISOString(),
      status: 'PROCESSING',
      amount: { total: order.amount, refund: refund.amount, payer_total: order.amount, payer_refund: refund.amount, currency: 'CNY' }
    } as unknown as WechatRefund
  }

  /**
   * The reconciler's look at a PENDING virtual order whose push has not come: query_order; paid (2-4, or refunded
   * since) settles it as the push would (cause `reconciler`) and, when WeChat still waits for delivery (2, 3), says
   * so with notify_provide_goods.
   */
  async check (order: OrderRow, log: Log, trace?: TraceContext): Promise<VirtualCheck> {
    // Without virtual payment configured no parameters were ever issued, so WeChat cannot have the order.
    if (this.deps.xpay === undefined || this.deps.settings === undefined) return 'unknown_at_wechat'
    // An erased account's unpaid order names no payer any more: WeChat cannot be asked about it.
    if (order.payer_openid === null) return 'unknown_at_wechat'
    const { xpay, settings } = this.client()
    const found = await xpay.queryOrder({ openid: order.payer_openid, env: settings.env, order_id: order.out_trade_no })
    if (found === undefined) return 'unknown_at_wechat'
    if (found.status === XpayOrderStatus.CLOSED) return 'closed'
    if (found.status < XpayOrderStatus.PAID) return 'unpaid'
    if ((found.paid_fee ?? found.order_fee) !== order.amount) {
      log.error({ orderId: order.id, expected: order.amount, received: found.paid_fee ?? found.order_fee }, 'query_order amount does not match the order; left for a person')
      return 'unpaid'
    }
    await withTransaction(this.deps.pool, async (client) => {
      const locked = await lockOrder(client, { id: order.id })
      if (locked === undefined) return
      const paid = await this.deps.ledger.markPaid(client, locked, {
        transactionId: found.wxpay_order_id ?? found.wx_order_id ?? `xpay:${order.out_trade_no}`,
        ...(found.paid_time === undefined || found.paid_time === 0 ? {} : { successTime: new Date(found.paid_time * 1000).toISOString() })
      }, 'reconciler', trace)
      if (paid) log.info({ orderId: order.id, outTradeNo: order.out_trade_no }, 'virtual order paid (its deliver push was lost) and delivered')
    })
    if (found.status === XpayOrderStatus.PAID || found.status === XpayOrderStatus.DELIVERING) {
      await xpay.notifyProvideGoods({ order_id: order.out_trade_no, env: settings.env })
    }
    return 'paid'
  }

  private async firstSeen (client: Parameters<Parameters<typeof withTransaction>[1]>[0], event: WechatPushEvent, subject: string): Promise<boolean> {
    const { rowCount } = await client.query('INSERT INTO xpay_events (id, event, subject) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [event.id, event.event, subject])
    return rowCount === 1
  }
}
