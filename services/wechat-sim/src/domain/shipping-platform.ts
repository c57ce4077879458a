import type { Config } from '../config.js'
import type { Order } from './pay.js'
import type { Pusher } from './pusher.js'
import { ShippingState, type Shipment } from './shipping.js'

/**
 * The platform around the shipping records: the buyer's confirmation or the automatic one, settlement, and the
 * message pushes that tell the merchant (trade_manage_remind_shipping, trade_manage_order_settlement).
 * https://developers.weixin.qq.com/miniprogram/dev/platform-capabilities/business-capabilities/order-shipping/order-shipping.html#九、相关消息推送
 */
export class ShippingPlatform {
  constructor (
    readonly state: ShippingState,
    private readonly pusher: Pusher,
    private readonly opts: {
      config: Config
      /** The mini-program's original id (gh_...), the ToUserName of pushes. */
      originalId: string
      later: (ms: number, fn: () => void) => void
    }
  ) {}

  /** After an applied upload: the platform confirms virtual goods (or everything, if configured) on its own. */
  uploaded (order: Order, shipment: Shipment): void {
    const cfg = this.opts.config
    const wait = shipment.logisticsType === 3 ? cfg.SIM_VIRTUAL_AUTO_CONFIRM_MS : cfg.SIM_AUTO_CONFIRM_MS
    if (wait >= 0 && shipment.state === 2) this.opts.later(wait, () => { this.confirm(order, 2) })
  }

  /** After a payment succeeds: the reminder to ship, when configured to come on its own. */
  paid (order: Order): void {
    const wait = this.opts.config.SIM_REMIND_SHIPPING_MS
    if (wait >= 0) this.opts.later(wait, () => { if (this.state.state(order) === 1) this.remindShipping(order) })
  }

  /** The buyer (1) or the platform (2) confirms receipt: pushed as trade_manage_order_settlement, then settled. */
  confirm (order: Order, method: 1 | 2): ReturnType<ShippingState['confirm']> {
    const r = this.state.confirm(order, method)
    if ('error' in r) return r
    const settleIn = this.opts.config.SIM_SETTLEMENT_DELAY_MS
    this.push(order, 'trade_manage_order_settlement', {
      ...this.times(order, r.ok),
      confirm_receive_method: method,
      confirm_receive_time: Math.floor(r.ok.confirmedAt! / 1000),
      estimated_settlement_time: Math.floor((r.ok.confirmedAt! + Math.max(0, settleIn)) / 1000)
    })
    if (settleIn >= 0) this.opts.later(settleIn, () => { this.settle(order) })
    return r
  }

  /** Settles the funds to the merchant: pushed as trade_manage_order_settlement with settlement_time. */
  settle (order: Order): Shipment | undefined {
    const shipment = this.state.settle(order)
    if (shipment === undefined) return undefined
    this.push(order, 'trade_manage_order_settlement', {
      ...this.times(order, shipment),
      confirm_receive_method: shipment.confirmMethod,
      confirm_receive_time: Math.floor(shipment.confirmedAt! / 1000),
      settlement_time: Math.floor(shipment.settledAt! / 1000)
    })
    return shipment
  }

  /** trade_manage_remind_shipping: the payment is still unshipped. */
  remindShipping (order: Order): void {
    this.push(order, 'trade_manage_remind_shipping', {
      pay_time: payTime(order),
      msg: '你的订单已支付，请尽快发货'
    })
  }

  private times (order: Order, shipment: Shipment): Record<string, number> {
    return { pay_time: payTime(order), shipped_time: Math.floor((shipment.shippedAt ?? 0) / 1000) }
  }

  private push (order: Order, event: string, fields: Record<string, unknown>): void {
    this.pusher.push(event, order.transactionId!, {
      ToUserName: this.opts.originalId,
      FromUserName: order.openid,
      CreateTime: Math.floor(Date.now() / 1000),
      MsgType: 'event',
      Event: event,
      transaction_id: order.transactionId,
      merchant_id: order.mchid,
      sub_merchant_id: '',
      merchant_trade_no: order.outTradeNo,
      ...fields
    })
  }
}

const payTime = (order: Order): number => Math.floor(Date.parse(order.successTime ?? new Date().toISOString()) / 1000)
