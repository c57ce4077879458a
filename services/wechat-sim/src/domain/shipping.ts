import type { WxError } from './mini-program.js'
import type { Order, PayState } from './pay.js'

// The platform side of order shipping management (发货信息管理): which paid payments were reported, the one
// modification each allows, confirmation of receipt and settlement. Errcodes are WeChat's; where WeChat documents
// none for a rule, the simulator answers 47001 (data format error) or 40097 (invalid args), as WeChat does for
// malformed calls.
// https://developers.weixin.qq.com/miniprogram/dev/platform-capabilities/business-capabilities/order-shipping/order-shipping.html

export type Result<T> = { ok: T } | { error: WxError }

/** 1 待发货, 2 已发货, 3 确认收货, 4 交易完成, 5 已退款. */
export type OrderState = 1 | 2 | 3 | 4 | 5

export interface ShippedParcel { tracking_no: string, express_company: string, goods_desc: string, upload_time: number, contact?: Record<string, string> }

export interface Shipment {
  transactionId: string
  outTradeNo: string
  state: 1 | 2 | 3 | 4
  /** Uploads the platform recorded for this payment: 1, then 2 once the one modification is spent. */
  uploads: number
  logisticsType?: number
  deliveryMode?: number
  finishShipping: boolean
  parcels: ShippedParcel[]
  /** Unix ms. */
  shippedAt?: number
  confirmedAt?: number
  /** 1 the buyer confirmed, 2 the platform confirmed on its own. */
  confirmMethod?: 1 | 2
  settledAt?: number
  confirmReminded: boolean
}

const err = (errcode: number, errmsg: string): { error: WxError } => ({ error: { errcode, errmsg } })
const FORMAT = err(47001, 'data format error')
const NOT_FOUND = err(10060001, '支付单不存在')
const RECEIVED_TIME = err(10060029, '签收时间不合理')
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?([+-]\d\d:\d\d|Z)$/
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
const str = (v: unknown): v is string => typeof v === 'string' && v !== ''

export class ShippingState {
  readonly shipments = new Map<string, Shipment>()
  /** The page set with set_msg_jump_path. */
  msgJumpPath: string | undefined

  constructor (private readonly pay: PayState, private readonly opts: { mchid: string }) {}

  /** A paid payment by transaction_id or by (mchid, out_trade_no); unpaid and unknown orders do not exist here. */
  find (key: { transactionId?: string, mchid?: string, outTradeNo?: string }): Order | undefined {
    let order: Order | undefined
    if (key.transactionId !== undefined) order = [...this.pay.orders.values()].find((o) => o.transactionId === key.transactionId)
    else if (key.mchid === this.opts.mchid && key.outTradeNo !== undefined) order = this.pay.orders.get(key.outTradeNo)
    return order?.transactionId === undefined ? undefined : order
  }

  shipment (order: Order): Shipment {
    let s = this.shipments.get(order.transactionId!)
    if (s === undefined) {
      s = { transactionId: order.transactionId!, outTradeNo: order.outTradeNo, state: 1, uploads: 0, finishShipping: false, parcels: [], confirmReminded: false }
      this.shipments.set(s.transactionId, s)
    }
    return s
  }

  /** The state get_order reports: a fully refunded payment is 5 whatever its shipping. */
  state (order: Order): OrderState {
    if (order.refunded >= order.total) return 5
    return this.shipments.get(order.transactionId!)?.state ?? 1
  }

  /** The buyer's money: frozen until the payment is settled (or refunded). */
  funds (order: Order): 'frozen' | 'settled' | 'refunded' {
    const state = this.state(order)
    return state === 5 ? 'refunded' : state === 4 ? 'settled' : 'frozen'
  }

  /** upload_shipping_info: validates as WeChat does, then records the first upload or the one modification. */
  upload (body: Record<string, unknown>): Result<{ shipment: Shipment, order: Order, modification: boolean }> {
    const key = body.order_key
    if (!isObj(key) || (key.order_number_type !== 1 && key.order_number_type !== 2)) return FORMAT
    if (key.order_number_type === 1 && (!str(key.mchid) || !str(key.out_trade_no))) return FORMAT
    if (key.order_number_type === 2 && !str(key.transaction_id)) return FORMAT
    const logistics = body.logistics_type
    if (typeof logistics !== 'number' || ![1, 2, 3, 4].includes(logistics)) return err(10060005, '物流类型有误')
    const mode = body.delivery_mode
    if (mode !== 1 && mode !== 2) return err(268485224, '发货模式非法')
    const list = body.shipping_list
    if (!Array.isArray(list)) return FORMAT
    if (mode === 1 && list.length !== 1) return err(268485228, '统一发货模式下，物流信息列表长度必须为1')
    if (mode === 2) {
      if (logistics !== 1) return err(10060006, '非快递发货时不允许分拆发货')
      if (typeof body.is_all_delivered !== 'boolean') return err(10060007, '分拆发货模式下必须填写is_all_delivered字段')
      if (list.length === 0) return FORMAT
      if (list.length > 15) return err(10060024, '物流信息列表太长')
    }
    for (const item of list) {
      if (!isObj(item)) return FORMAT
      if (!str(item.item_desc)) return err(10060008, '商品描述字段不能为空')
      if ([...item.item_desc].length > 120) return err(10060009, '商品描述字段长度过长')
      if (logistics === 1) {
        if (!str(item.tracking_no)) return err(268485226, '物流单号不能为空')
        if (Buffer.byteLength(item.tracking_no) > 128) return err(10060026, '物流单号太长')
        if (!str(item.express_company)) return FORMAT
        if (Buffer.byteLength(item.express_company) > 128) return err(10060025, '物流公司编码太长')
      }
      if (item.contact !== undefined && !isObj(item.contact)) return FORMAT
    }
    if (typeof body.upload_time !== 'string' || !RFC3339.test(body.upload_time) || Number.isNaN(Date.parse(body.upload_time))) return err(268485216, '上传时间非法，请按照RFC 3339格式填写')
    const payer = body.payer
    if (!isObj(payer) || !str(payer.openid)) return FORMAT

    const order = key.order_number_type === 2
      ? this.find({ transactionId: key.transaction_id as string })
      : this.find({ mchid: key.mchid as string, outTradeNo: key.out_trade_no as string })
    // The payment is looked up with its payer: another user's openid finds nothing.
    if (order === undefined || order.openid !== payer.openid) return NOT_FOUND
    const shipment = this.shipment(order)
    if (this.state(order) !== 1 && this.state(order) !== 2) return err(10060004, '支付单处于不可发货的状态')
    const modification = shipment.finishShipping
    if (modification && shipment.uploads >= 2) return err(10060003, '支付单已使用重新发货机会')

    const uploadSeconds = Math.floor(Date.parse(body.upload_time) / 1000)
    const parcels = list.map((item: Record<string, unknown>) => ({
      tracking_no: typeof item.tracking_no === 'string' ? item.tracking_no : '',
      express_company: typeof item.express_company === 'string' ? item.express_company : '',
      goods_desc: item.item_desc as string,
      upload_time: uploadSeconds,
      ...(isObj(item.contact) ? { contact: item.contact as Record<string, string> } : {})
    }))
    // Split parcels add up until is_all_delivered; anything else replaces what was recorded.
    shipment.parcels = mode === 2 && !shipment.finishShipping && shipment.deliveryMode === 2 ? [...shipment.parcels, ...parcels] : parcels
    shipment.logisticsType = logistics
    shipment.deliveryMode = mode
    const finished = mode === 1 || body.is_all_delivered === true
    if (finished) {
      if (!shipment.finishShipping) shipment.uploads = 1
      else shipment.uploads++
      shipment.finishShipping = true
      shipment.state = 2
      shipment.shippedAt ??= Date.now()
    }
    return { ok: { shipment, order, modification } }
  }

  /** Marks a shipped payment received: 1 by the buyer, 2 by the platform. */
  confirm (order: Order, method: 1 | 2): Result<Shipment> {
    const shipment = this.shipments.get(order.transactionId!)
    if (this.state(order) === 5) return err(10060004, '支付单处于不可发货的状态')
    if (shipment === undefined || shipment.state !== 2) return err(40097, 'invalid args: the payment is not shipped or already received')
    shipment.state = 3
    shipment.confirmedAt = Date.now()
    shipment.confirmMethod = method
    return { ok: shipment }
  }

  /** Settles a received payment to the merchant. */
  settle (order: Order): Shipment | undefined {
    const shipment = this.shipments.get(order.transactionId!)
    if (shipment === undefined || shipment.state !== 3 || this.state(order) === 5) return undefined
    shipment.state = 4
    shipment.settledAt = Date.now()
    return shipment
  }

  /**
   * notify_confirm_receive: express only, once per payment, with received_time in Unix seconds after the shipping
   * upload. A time in milliseconds, before the upload or still to come is 10060029 (签收时间不合理), as WeChat answers;
   * WeChat documents no errcode for a second reminder, so it is 40097 (invalid args) here.
   */
  remindConfirm (body: Record<string, unknown>): Result<Shipment> {
    if (typeof body.received_time !== 'number' || !Number.isInteger(body.received_time)) return FORMAT
    const order = str(body.transaction_id)
      ? this.find({ transactionId: body.transaction_id })
      : str(body.merchant_id) && str(body.merchant_trade_no) ? this.find({ mchid: body.merchant_id, outTradeNo: body.merchant_trade_no }) : undefined
    if (order === undefined) return NOT_FOUND
    const shipment = this.shipments.get(order.transactionId!)
    if (shipment === undefined || shipment.state !== 2) return err(10060004, '支付单处于不可发货的状态')
    if (shipment.logisticsType !== 1) return err(10060005, '物流类型有误')
    if (shipment.confirmReminded) return err(40097, 'invalid args: a payment is reminded once')
    if (body.received_time < Math.floor((shipment.shippedAt ?? 0) / 1000) || body.received_time > Math.floor(Date.now() / 1000) + 60) return RECEIVED_TIME
    shipment.confirmReminded = true
    return { ok: shipment }
  }

  /** get_order's `order`. */
  view (order: Order): Record<string, unknown> {
    const shipment = this.shipments.get(order.transactionId!)
    const out: Record<string, unknown> = {
      transaction_id: order.transactionId,
      merchant_id: order.mchid,
      sub_merchant_id: '',
      merchant_trade_no: order.outTradeNo,
      description: order.description,
      paid_amount: order.total,
      openid: order.openid,
      trade_create_time: Math.floor(Date.parse(order.successTime ?? new Date().toISOString()) / 1000),
      pay_time: Math.floor(Date.parse(order.successTime ?? new Date().toISOString()) / 1000),
      order_state: this.state(order),
      in_complaint: false
    }
    if (shipment !== undefined && shipment.parcels.length > 0) {
      out.shipping = {
        delivery_mode: shipment.deliveryMode,
        logistics_type: shipment.logisticsType,
        finish_shipping: shipment.finishShipping,
        goods_desc: shipment.parcels.map((p) => p.goods_desc).join(';'),
        finish_shipping_count: shipment.uploads,
        shipping_list: shipment.parcels
      }
    }
    return out
  }
}
