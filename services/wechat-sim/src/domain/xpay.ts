import { createHmac, randomBytes } from 'node:crypto'
import type { MiniProgramState, WxError } from './mini-program.js'
import { sameString } from './signing.js'
import type { Pusher } from './pusher.js'

// WeChat's side of the virtual-payment signatures, written here rather than imported: @wxmp/wechat's tests run
// against this simulator, so the two implementations are checked against each other (and @wxmp/wechat's against
// the documented sample values).
const hmac = (key: string, text: string): string => createHmac('sha256', Buffer.from(key, 'utf8')).update(text, 'utf8').digest('hex')
const virtualPaySig = (appKey: string, signData: string): string => hmac(appKey, `requestVirtualPayment&${signData}`)
const xpayPaySig = (appKey: string, uri: string, body: string): string => hmac(appKey, `${uri}&${body}`)
const userStateSignature = (sessionKey: string, data: string): string => hmac(sessionKey, data)
const sameSignature = (expected: string, given: unknown): boolean => typeof given === 'string' && sameString(expected, given.toLowerCase())

/** One virtual-payment order at WeChat, made when the phone pays (wx.requestVirtualPayment). */
export interface XpayOrder {
  orderId: string
  openid: string
  env: 0 | 1
  productId: string
  quantity: number
  goodsPrice: number
  orderFee: number
  attach: string
  /** 2 paid, 3 delivering, 4 delivered, 5 refunded (query_order's status). */
  status: number
  wxOrderId: string
  wxpayOrderId: string
  paidTime: number
  provideTime?: number
  refundFee: number
  refunds: Map<string, XpayRefund>
}

export interface XpayRefund { refundOrderId: string, refundWxOrderId: string, fee: number, done: boolean }

/** A phone-side failure of wx.requestVirtualPayment, as the fail callback gets it. */
export interface PhoneFailure { errCode: number, errMsg: string }

/**
 * WeChat's virtual payment (小程序虚拟支付): the phone's wx.requestVirtualPayment (signData, paySig and the user-state
 * signature checked as WeChat checks them), the deliver and refund pushes, and the server APIs (query_order,
 * refund_order, notify_provide_goods) with their pay_sig.
 */
export class XpayState {
  readonly orders = new Map<string, XpayOrder>()

  constructor (private readonly opts: {
    offerId: string
    appKey: string
    mp: MiniProgramState
    pusher: Pusher
    /** The mini-program's original id (ToUserName of pushes). */
    originalId: string
    later: (ms: number, fn: () => void) => void
    refundSettleMs: number
  }) {}

  /**
   * The phone pays. WeChat refuses a wrong paySig (signed with another AppKey, or over other bytes), a signData for
   * another OfferId, and a user-state signature made with a session_key that is no longer the user's current one.
   */
  pay (input: { openid: string, mode: string, signData: string, paySig: string, signature: string }): { ok: XpayOrder, deliveryId: string } | { fail: PhoneFailure } {
    const fail = (errCode: number, why: string): { fail: PhoneFailure } => ({ fail: { errCode, errMsg: `requestVirtualPayment:fail ${why}` } })
    if (input.mode !== 'short_series_goods') return fail(-15001, 'invalid mode')
    let d: Record<string, unknown>
    try {
      d = JSON.parse(input.signData) as Record<string, unknown>
    } catch {
      return fail(-15001, 'signData is not JSON')
    }
    if (!sameSignature(virtualPaySig(this.opts.appKey, input.signData), input.paySig)) return fail(-15005, 'paySig error')
    const sessionKey = this.opts.mp.users.get(input.openid)?.sessionKey
    if (sessionKey === undefined || !sameSignature(userStateSignature(sessionKey, input.signData), input.signature)) return fail(-15007, 'session_key expired or signature error')
    if (d.offerId !== this.opts.offerId) return fail(-15001, 'offerId mismatch')
    const quantity = d.buyQuantity
    const price = d.goodsPrice
    if (typeof d.outTradeNo !== 'string' || typeof d.productId !== 'string' || typeof quantity !== 'number' || typeof price !== 'number' || d.currencyType !== 'CNY') return fail(-15001, 'invalid signData')
    if (this.orders.has(d.outTradeNo)) return fail(-15003, 'outTradeNo already used')
    const order: XpayOrder = {
      orderId: d.outTradeNo,
      openid: input.openid,
      env: d.env === 1 ? 1 : 0,
      productId: d.productId,
      quantity,
      goodsPrice: price,
      orderFee: price * quantity,
      attach: typeof d.attach === 'string' ? d.attach : '',
      status: 2,
      wxOrderId: 'wxo' + randomBytes(12).toString('hex'),
      wxpayOrderId: '42' + String(Date.now()) + String(randomBytes(4).readUInt32BE()).padStart(10, '0'),
      paidTime: Math.floor(Date.now() / 1000),
      refundFee: 0,
      refunds: new Map()
    }
    this.orders.set(order.orderId, order)
    return { ok: order, deliveryId: this.pushDelivery(order).id }
  }

  /** xpay_goods_deliver_notify, retried until the merchant answers ErrCode 0; delivered (status 4) when it does. */
  pushDelivery (order: XpayOrder): { id: string } {
    return this.opts.pusher.push('xpay_goods_deliver_notify', order.orderId, {
      ToUserName: this.opts.originalId,
      FromUserName: order.openid,
      CreateTime: Math.floor(Date.now() / 1000),
      MsgType: 'event',
      Event: 'xpay_goods_deliver_notify',
      OpenId: order.openid,
      OutTradeNo: order.orderId,
      Env: order.env,
      WeChatPayInfo: { MchOrderNo: order.wxOrderId, TransactionId: order.wxpayOrderId, PaidTime: order.paidTime },
      GoodsInfo: { ProductId: order.productId, Quantity: order.quantity, OrigPrice: order.goodsPrice, ActualPrice: order.orderFee, Attach: order.attach }
    }, () => { if (order.status < 4) { order.status = 4; order.provideTime = Math.floor(Date.now() / 1000) } })
  }

  /** Checks pay_sig of a server API call over its path and exact body. */
  checkPaySig (uri: string, body: string, paySig: string | undefined): WxError | undefined {
    if (!sameSignature(xpayPaySig(this.opts.appKey, uri, body), paySig)) return { errcode: 268490003, errmsg: 'pay_sig error' }
    return undefined
  }

  queryOrder (body: Record<string, unknown>): { order: Record<string, unknown> } | { error: WxError } {
    const id = body.order_id
    const order = typeof id === 'string' ? this.orders.get(id) : [...this.orders.values()].find((o) => o.wxOrderId === body.wx_order_id)
    if (order === undefined || order.openid !== body.openid) return { error: { errcode: 268490002, errmsg: 'order not exist' } }
    return {
      order: {
        order_id: order.orderId,
        create_time: order.paidTime,
        update_time: Math.floor(Date.now() / 1000),
        status: order.status,
        biz_type: 0,
        order_fee: order.orderFee,
        coupon_fee: 0,
        paid_fee: order.orderFee,
        order_type: 0,
        refund_fee: order.refundFee,
        paid_time: order.paidTime,
        provide_time: order.provideTime ?? 0,
        env_type: order.env,
        left_fee: order.orderFee - order.refundFee,
        wx_order_id: order.wxOrderId,
        channel_order_id: order.wxOrderId,
        wxpay_order_id: order.wxpayOrderId
      }
    }
  }

  /** refund_order: the same refund_order_id is one refund (268490004 on a repeat); xpay_refund_notify follows. */
  refund (body: Record<string, unknown>): { ok: Record<string, unknown> } | { error: WxError } {
    const order = typeof body.order_id === 'string' ? this.orders.get(body.order_id) : undefined
    if (order === undefined || order.openid !== body.openid) return { error: { errcode: 268490002, errmsg: 'order not exist' } }
    const id = body.refund_order_id
    const fee = body.refund_fee
    if (typeof id !== 'string' || id === '' || typeof fee !== 'number' || !Number.isInteger(fee) || fee <= 0) return { error: { errcode: 268490002, errmsg: 'invalid refund params' } }
    if (order.refunds.has(id)) return { error: { errcode: 268490004, errmsg: 'repeated operation' } }
    const left = order.orderFee - [...order.refunds.values()].reduce((s, r) => s + r.fee, 0)
    if (body.left_fee !== left) return { error: { errcode: 268490016, errmsg: 'left_fee mismatch' } }
    if (fee > left) return { error: { errcode: 268490002, errmsg: 'refund_fee exceeds left_fee' } }
    const refund: XpayRefund = { refundOrderId: id, refundWxOrderId: 'wxr' + randomBytes(12).toString('hex'), fee, done: false }
    order.refunds.set(id, refund)
    const start = Math.floor(Date.now() / 1000)
    this.opts.later(Math.max(0, this.opts.refundSettleMs), () => {
      refund.done = true
      order.refundFee += fee
      if (order.refundFee >= order.orderFee) order.status = 5
      this.opts.pusher.push('xpay_refund_notify', id, {
        ToUserName: this.opts.originalId,
        FromUserName: order.openid,
        CreateTime: Math.floor(Date.now() / 1000),
        MsgType: 'event',
        Event: 'xpay_refund_notify',
        OpenId: order.openid,
        WxRefundId: refund.refundWxOrderId,
        MchRefundId: id,
        WxOrderId: order.wxOrderId,
        MchOrderId: order.orderId,
        RefundFee: fee,
        RetCode: 0,
        RetMsg: 'success',
        RefundStartTimestamp: start,
        RefundSuccTimestamp: Math.floor(Date.now() / 1000),
        WxpayRefundTransactionId: '50' + String(Date.now())
      })
    })
    return { ok: { refund_order_id: id, refund_wx_order_id: refund.refundWxOrderId, pay_order_id: order.orderId, pay_wx_order_id: order.wxOrderId } }
  }

  /** notify_provide_goods: the merchant delivered although the push was not answered; the order is delivered. */
  provideGoods (body: Record<string, unknown>): WxError | undefined {
    const order = typeof body.order_id === 'string' ? this.orders.get(body.order_id) : [...this.orders.values()].find((o) => o.wxOrderId === body.wx_order_id)
    if (order === undefined) return { errcode: 268490002, errmsg: 'order not exist' }
    if (order.status === 4) return { errcode: 268490004, errmsg: 'repeated operation' }
    if (order.status !== 2 && order.status !== 3) return { errcode: 268490002, errmsg: 'order status not allow' }
    order.status = 4
    order.provideTime = Math.floor(Date.now() / 1000)
    return undefined
  }
}
