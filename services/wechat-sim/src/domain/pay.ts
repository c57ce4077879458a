import { beijingTime, newPrepayId, newRefundId, newTransactionId } from './ids.js'
import type { PayError } from './signing.js'

export type TradeState = 'NOTPAY' | 'SUCCESS' | 'REFUND' | 'CLOSED' | 'PAYERROR'

export interface Order {
  appid: string
  mchid: string
  outTradeNo: string
  description: string
  attach?: string
  notifyUrl: string
  total: number
  openid: string
  timeExpire?: number
  prepayId: string
  /** When prepayId was issued (ms): it opens the payment sheet for the prepay lifetime only. */
  prepaidAt: number
  state: TradeState
  transactionId?: string
  successTime?: string
  /** Sum of refunds that are not CLOSED. */
  refunded: number
  /** What makes a repeated prepay "the same order". */
  fingerprint: string
}

export interface RefundRecord {
  refundId: string
  outRefundNo: string
  outTradeNo: string
  transactionId: string
  reason?: string
  notifyUrl: string
  refund: number
  total: number
  status: 'PROCESSING' | 'SUCCESS' | 'CLOSED' | 'ABNORMAL'
  createTime: string
  successTime?: string
}

export type PayResult<T> = { ok: T } | { error: PayError }

const STATE_DESC: Record<TradeState, string> = {
  NOTPAY: '订单未支付',
  SUCCESS: '支付成功',
  REFUND: '转入退款',
  CLOSED: '订单已关闭',
  PAYERROR: '支付失败，请重新下单支付'
}

const OUT_NO = /^[0-9A-Za-z_\-*|@]{6,64}$/

const param = (message: string, field: string): { error: PayError } => ({ error: { status: 400, code: 'PARAM_ERROR', message, detail: { field, location: 'body' } } })

/** WeChat Pay's orders and refunds for one merchant. Operations are synchronous: concurrent calls see one order. */
export class PayState {
  readonly orders = new Map<string, Order>()
  readonly refunds = new Map<string, RefundRecord>()

  /** `prepayTtlMs`: how long a prepay_id opens the payment sheet; WeChat's is two hours. */
  constructor (private readonly opts: { appid: string, mchid: string, prepayTtlMs?: number }) {}

  /** Whether the order's prepay_id is past its lifetime, so the sheet refuses it. */
  prepayExpired (order: Order): boolean {
    return Date.now() - order.prepaidAt >= (this.opts.prepayTtlMs ?? 7_200_000)
  }

  prepay (body: Record<string, unknown>): PayResult<{ prepayId: string, order: Order }> {
    const amount = body.amount as { total?: unknown, currency?: unknown } | undefined
    const payer = body.payer as { openid?: unknown } | undefined
    if (typeof body.appid !== 'string') return param('输入源“/body/appid”映射到字段“公众号ID”必填性规则校验失败，此字段为必填项', '/body/appid')
    if (typeof body.mchid !== 'string') return param('输入源“/body/mchid”映射到字段“直连商户号”必填性规则校验失败，此字段为必填项', '/body/mchid')
    if (typeof body.description !== 'string' || body.description === '' || Buffer.byteLength(body.description) > 127) return param('输入源“/body/description”映射到字段“商品描述”长度或必填性规则校验失败', '/body/description')
    if (typeof body.out_trade_no !== 'string' || !/^[0-9A-Za-z_\-*|]{6,32}$/.test(body.out_trade_no)) return param('输入源“/body/out_trade_no”映射到字段“商户订单号”格式规则校验失败', '/body/out_trade_no')
    if (typeof body.notify_url !== 'string' || !/^https?:\/\/[^?#]+$/.test(body.notify_url)) return param('输入源“/body/notify_url”映射到字段“通知地址”格式规则校验失败', '/body/notify_url')
    if (typeof amount?.total !== 'number' || !Number.isInteger(amount.total) || amount.total < 1) return param('输入源“/body/amount/total”映射到字段“总金额”规则校验失败，必须是正整数', '/body/amount/total')
    if (amount.currency !== undefined && amount.currency !== 'CNY') return param('输入源“/body/amount/currency”映射到字段“货币类型”规则校验失败', '/body/amount/currency')
    if (typeof payer?.openid !== 'string' || payer.openid === '') return param('输入源“/body/payer/openid”映射到字段“用户标识”必填性规则校验失败，此字段为必填项', '/body/payer/openid')
    if (body.mchid !== this.opts.mchid || body.appid !== this.opts.appid) return { error: { status: 400, code: 'APPID_MCHID_NOT_MATCH', message: 'appid和mch_id不匹配' } }
    let timeExpire: number | undefined
    if (body.time_expire !== undefined) {
      timeExpire = typeof body.time_expire === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:\d\d|Z)$/.test(body.time_expire) ? Date.parse(body.time_expire) : NaN
      if (Number.isNaN(timeExpire)) return param('输入源“/body/time_expire”映射到字段“交易结束时间”格式规则校验失败', '/body/time_expire')
    }
    const fingerprint = JSON.stringify([body.description, amount.total, payer.openid, body.attach ?? null, body.notify_url, body.time_expire ?? null])
    const existing = this.orders.get(body.out_trade_no)
    if (existing !== undefined) {
      this.expire(existing)
      if (existing.state === 'SUCCESS' || existing.state === 'REFUND') return { error: { status: 400, code: 'ORDERPAID', message: '该订单已支付' } }
      if (existing.state === 'CLOSED') return { error: { status: 400, code: 'ORDER_CLOSED', message: '该订单已关闭' } }
      // The same order placed again gets the same prepay_id while it lives, a new one after; different details
      // under the same number get neither.
      if (existing.fingerprint !== fingerprint) return { error: { status: 403, code: 'OUT_TRADE_NO_USED', message: '商户订单号重复' } }
      if (this.prepayExpired(existing)) {
        existing.prepayId = newPrepayId()
        existing.prepaidAt = Date.now()
      }
      return { ok: { prepayId: existing.prepayId, order: existing } }
    }
    const order: Order = {
      appid: body.appid,
      mchid: body.mchid,
      outTradeNo: body.out_trade_no,
      description: body.description,
      notifyUrl: body.notify_url,
      total: amount.total,
      openid: payer.openid,
      prepayId: newPrepayId(),
      prepaidAt: Date.now(),
      state: 'NOTPAY',
      refunded: 0,
      fingerprint
    }
    if (typeof body.attach === 'string') order.attach = body.attach
    if (timeExpire !== undefined) order.timeExpire = timeExpire
    this.orders.set(order.outTradeNo, order)
    return { ok: { prepayId: order.prepayId, order } }
  }

  /** The phone pays (or fails to). Returns the order for the notification. */
  pay (outTradeNo: string, result: 'SUCCESS' | 'FAIL'): { ok: Order } | { error: string } {
    const order = this.orders.get(outTradeNo)
    if (order === undefined) return { error: 'NOT_FOUND' }
    this.expire(order)
    if (order.state === 'SUCCESS' || order.state === 'REFUND') return { error: 'ALREADY_PAID' }
    if (order.state === 'CLOSED') return { error: 'ORDER_CLOSED' }
    if (result === 'FAIL') {
      order.state = 'PAYERROR'
      return { ok: order }
    }
    order.state = 'SUCCESS'
    order.transactionId = newTransactionId()
    order.successTime = beijingTime()
    return { ok: order }
  }

  query (outTradeNo: string): PayResult<Order> {
    const order = this.orders.get(outTradeNo)
    if (order === undefined) return { error: { status: 404, code: 'ORDER_NOT_EXIST', message: '订单不存在' } }
    this.expire(order)
    return { ok: order }
  }

  close (outTradeNo: string): PayResult<Order> {
    const order = this.orders.get(outTradeNo)
    if (order === undefined) return { error: { status: 404, code: 'ORDER_NOT_EXIST', message: '订单不存在' } }
    if (order.state === 'SUCCESS' || order.state === 'REFUND') return { error: { status: 400, code: 'ORDERPAID', message: '订单已支付' } }
    order.state = 'CLOSED'
    return { ok: order }
  }

  refund (body: Record<string, unknown>, defaultNotifyUrl: string): PayResult<{ refund: RefundRecord, created: boolean }> {
    const amount = body.amount as { refund?: unknown, total?: unknown, currency?: unknown } | undefined
    if (typeof body.out_refund_no !== 'string' || !OUT_NO.test(body.out_refund_no)) return param('输入源“/body/out_refund_no”映射到字段“商户退款单号”格式规则校验失败', '/body/out_refund_no')
    if (typeof body.out_trade_no !== 'string' && typeof body.transaction_id !== 'string') return param('transaction_id和out_trade_no必须二选一进行传参', '/body/out_trade_no')
    if (typeof amount?.refund !== 'number' || !Number.isInteger(amount.refund) || amount.refund < 1) return param('输入源“/body/amount/refund”映射到字段“退款金额”规则校验失败，必须是正整数', '/body/amount/refund')
    if (typeof amount.total !== 'number' || !Number.isInteger(amount.total) || amount.total < 1) return param('输入源“/body/amount/total”映射到字段“原订单金额”规则校验失败，必须是正整数', '/body/amount/total')
    if (amount.currency !== undefined && amount.currency !== 'CNY') return param('输入源“/body/amount/currency”映射到字段“退款币种”规则校验失败', '/body/amount/currency')
    if (body.notify_url !== undefined && (typeof body.notify_url !== 'string' || !/^https?:\/\/[^?#]+$/.test(body.notify_url))) return param('输入源“/body/notify_url”映射到字段“退款结果回调url”格式规则校验失败', '/body/notify_url')

    const order = typeof body.out_trade_no === 'string'
      ? this.orders.get(body.out_trade_no)
      : [...this.orders.values()].find((o) => o.transactionId === body.transaction_id)
    if (order === undefined || order.transactionId === undefined) return { error: { status: 404, code: 'RESOURCE_NOT_EXISTS', message: '订单不存在' } }
    // The same out_refund_no is the same refund: WeChat Pay refunds it once, whatever is asked again.
    const existing = this.refunds.get(body.out_refund_no)
    if (existing !== undefined) {
      if (existing.outTradeNo !== order.outTradeNo) return { error: { status: 400, code: 'INVALID_REQUEST', message: '商户退款单号已被其他订单使用' } }
      return { ok: { refund: existing, created: false } }
    }
    if (amount.total !== order.total) return { error: { status: 400, code: 'INVALID_REQUEST', message: '订单金额与实际不符' } }
    if (amount.refund > order.total - order.refunded) return { error: { status: 400, code: 'INVALID_REQUEST', message: order.refunded >= order.total ? '订单已全额退款' : '申请退款金额超过订单可退金额' } }
    const refund: RefundRecord = {
      refundId: newRefundId(),
      outRefundNo: body.out_refund_no,
      outTradeNo: order.outTradeNo,
      transactionId: order.transactionId,
      notifyUrl: typeof body.notify_url === 'string' ? body.notify_url : (defaultNotifyUrl !== '' ? defaultNotifyUrl : order.notifyUrl),
      refund: amount.refund,
      total: order.total,
      status: 'PROCESSING',
      createTime: beijingTime()
    }
    if (typeof body.reason === 'string') refund.reason = body.reason
    this.refunds.set(refund.outRefundNo, refund)
    order.refunded += refund.refund
    order.state = 'REFUND'
    return { ok: { refund, created: true } }
  }

  /** Moves a PROCESSING refund to its final status; returns undefined if it was already final. */
  settleRefund (outRefundNo: string, status: 'SUCCESS' | 'CLOSED' | 'ABNORMAL'): RefundRecord | undefined {
    const refund = this.refunds.get(outRefundNo)
    if (refund === undefined || refund.status !== 'PROCESSING') return undefined
    refund.status = status
    if (status === 'SUCCESS') refund.successTime = beijingTime()
    if (status === 'CLOSED') {
      const order = this.orders.get(refund.outTradeNo)
      if (order !== undefined) {
        order.refunded -= refund.refund
        if (order.refunded === 0 && order.state === 'REFUND') order.state = 'SUCCESS'
      }
    }
    return refund
  }

  /** An unpaid order past its time_expire can no longer be paid. */
  private expire (order: Order): void {
    if ((order.state === 'NOTPAY' || order.state === 'PAYERROR') && order.timeExpire !== undefined && Date.now() > order.timeExpire) order.state = 'CLOSED'
  }

  /** The transaction as the query API and TRANSACTION.SUCCESS return it. */
  static transaction (order: Order): Record<string, unknown> {
    const paid = order.state === 'SUCCESS' || order.state === 'REFUND'
    const t: Record<string, unknown> = {
      appid: order.appid,
      mchid: order.mchid,
      out_trade_no: order.outTradeNo,
      trade_state: order.state,
      trade_state_desc: STATE_DESC[order.state],
      promotion_detail: [],
      scene_info: { device_id: '' }
    }
    if (paid) {
      Object.assign(t, {
        transaction_id: order.transactionId,
        trade_type: 'JSAPI',
        bank_type: 'OTHERS',
        success_time: order.successTime,
        payer: { openid: order.openid },
        amount: { total: order.total, payer_total: order.total, currency: 'CNY', payer_currency: 'CNY' }
      })
      if (order.attach !== undefined) t.attach = order.attach
    } else {
      t.amount = { payer_currency: 'CNY', currency: 'CNY', total: order.total }
    }
    return t
  }

  /** A refund as the refund APIs return it. */
  static refundBody (r: RefundRecord): Record<string, unknown> {
    const body: Record<string, unknown> = {
      refund_id: r.refundId,
      out_refund_no: r.outRefundNo,
      transaction_id: r.transactionId,
      out_trade_no: r.outTradeNo,
      channel: 'ORIGINAL',
      user_received_account: '支付用户零钱',
      create_time: r.createTime,
      status: r.status,
      funds_account: 'AVAILABLE',
      amount: {
        total: r.total,
        refund: r.refund,
        from: [],
        payer_total: r.total,
        payer_refund: r.refund,
        settlement_refund: r.refund,
        settlement_total: r.total,
        discount_refund: 0,
        currency: 'CNY',
        refund_fee: 0
      },
      promotion_detail: []
    }
    if (r.successTime !== undefined) body.success_time = r.successTime
    return body
  }

  /** A refund as REFUND.* notifications carry it. */
  static refundNotice (r: RefundRecord, mchid: string): Record<string, unknown> {
    const notice: Record<string, unknown> = {
      mchid,
      out_trade_no: r.outTradeNo,
      transaction_id: r.transactionId,
      out_refund_no: r.outRefundNo,
      refund_id: r.refundId,
      refund_status: r.status,
      user_received_account: '支付用户零钱',
      amount: { total: r.total, refund: r.refund, payer_total: r.total, payer_refund: r.refund }
    }
    if (r.successTime !== undefined) notice.success_time = r.successTime
    return notice
  }
}
