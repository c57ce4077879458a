/** Server APIs of WeChat's virtual payment (`https://api.weixin.qq.com/xpay/...`), as WeChat names the fields. */

/** Order status in query_order's answer. */
export const XpayOrderStatus = {
  /** 订单初始化: not created, cannot be paid. */
  INIT: 0,
  CREATED: 1,
  /** Paid, goods not delivered yet. */
  PAID: 2,
  DELIVERING: 3,
  DELIVERED: 4,
  REFUNDED: 5,
  CLOSED: 6,
  REFUND_FAILED: 7,
  USER_REFUNDED: 8
} as const

export interface XpayOrder {
  order_id: string
  status: number
  /** 0 purchase, 1 refund. */
  order_type?: number
  order_fee: number
  paid_fee?: number
  refund_fee?: number
  left_fee?: number
  create_time?: number
  update_time?: number
  paid_time?: number
  provide_time?: number
  env_type?: number
  biz_meta?: string
  wx_order_id?: string
  channel_order_id?: string
  wxpay_order_id?: string
  [key: string]: unknown
}

export interface XpayQueryOrderRequest {
  openid: string
  env: 0 | 1
  /** The merchant's order number (out_trade_no), or a refund's refund_order_id; or wx_order_id instead. */
  order_id?: string
  wx_order_id?: string
}

export interface XpayRefundOrderRequest {
  openid: string
  order_id?: string
  wx_order_id?: string
  /** The merchant's refund number: the same number asks WeChat for the same refund. */
  refund_order_id: string
  /** What is left refundable on the order before this refund, in fen. */
  left_fee: number
  refund_fee: number
  biz_meta?: string
  /** 0 none, 1 product problem, 2 customer service, 3 user, 4 other. */
  refund_reason: string
  /** 1 manual (customer service), 2 user-initiated, 3 other. */
  req_from: string
  env: 0 | 1
}

export interface XpayRefundOrderReply {
  refund_order_id: string
  refund_wx_order_id: string
  pay_order_id: string
  pay_wx_order_id: string
}

export interface XpayNotifyProvideGoodsRequest {
  order_id?: string
  wx_order_id?: string
  env: 0 | 1
}
