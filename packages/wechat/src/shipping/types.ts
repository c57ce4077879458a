// Order shipping management (发货信息管理), in WeChat's own field names.
// https://developers.weixin.qq.com/miniprogram/dev/platform-capabilities/business-capabilities/order-shipping/order-shipping.html

/** order_number_type 1: the merchant's number (mchid + out_trade_no); 2: WeChat Pay's transaction_id. */
export type OrderKey =
  | { order_number_type: 1, mchid: string, out_trade_no: string }
  | { order_number_type: 2, transaction_id: string }

/** logistics_type: 1 express (实体物流), 2 same-city (同城配送), 3 virtual goods (虚拟商品), 4 pickup (用户自提). */
export const LogisticsType = { Express: 1, SameCity: 2, Virtual: 3, Pickup: 4 } as const
export type LogisticsType = typeof LogisticsType[keyof typeof LogisticsType]

/** delivery_mode: 1 UNIFIED_DELIVERY (one parcel), 2 SPLIT_DELIVERY (express only, up to 15 parcels). */
export const DeliveryMode = { Unified: 1, Split: 2 } as const
export type DeliveryMode = typeof DeliveryMode[keyof typeof DeliveryMode]

export interface ShippingContact {
  /** The sender's phone, masked (e.g. 189****1234); SF Express requires one of the two. */
  consignor_contact?: string
  receiver_contact?: string
}

export interface ShippingItem {
  /** Required for express (logistics_type 1); 1-128 bytes. */
  tracking_no?: string
  /** Carrier id from get_delivery_list (e.g. SF, YTO); required for express. */
  express_company?: string
  /** What is in the parcel; 1-120 characters. */
  item_desc: string
  contact?: ShippingContact
}

export interface UploadShippingInfoRequest {
  order_key: OrderKey
  logistics_type: LogisticsType
  delivery_mode: DeliveryMode
  /** Required in split mode: whether every parcel has now been reported. */
  is_all_delivered?: boolean
  /** One item in unified mode; 1-15 in split mode. */
  shipping_list: ShippingItem[]
  /** RFC 3339 with an offset, e.g. 2022-12-15T13:29:35.120+08:00; a modification must be later than the upload it replaces. */
  upload_time: string
  payer: { openid: string }
}

/** get_order takes WeChat Pay's transaction_id, or the merchant id and the merchant's number. */
export type GetOrderRequest =
  | { transaction_id: string }
  | { merchant_id: string, sub_merchant_id?: string, merchant_trade_no: string }

/** order_state: 1 待发货 awaiting shipment, 2 已发货 shipped, 3 确认收货 received, 4 交易完成 settled, 5 已退款 refunded. */
export const OrderState = { Unshipped: 1, Shipped: 2, Confirmed: 3, Completed: 4, Refunded: 5 } as const
export type OrderState = typeof OrderState[keyof typeof OrderState]

export interface ShippedItem {
  tracking_no: string
  express_company: string
  goods_desc?: string
  /** Unix seconds. */
  upload_time: number
  contact?: ShippingContact
}

export interface OrderShipping {
  delivery_mode: DeliveryMode
  logistics_type: LogisticsType
  finish_shipping: boolean
  goods_desc: string
  /** How many times shipping was recorded for the payment: 1, or 2 once the one modification is spent. */
  finish_shipping_count: number
  shipping_list: ShippedItem[]
}

/** A payment as the platform sees it (get_order's `order`). */
export interface ShippingOrder {
  transaction_id: string
  merchant_id: string
  sub_merchant_id?: string
  merchant_trade_no: string
  description: string
  /** In fen. */
  paid_amount: number
  openid: string
  /** Unix seconds. */
  trade_create_time: number
  pay_time: number
  /** A state outside 1-5 can appear (WeChat has sent 6); callers treat it as unknown, never as unshipped. */
  order_state: number
  in_complaint: boolean
  shipping?: OrderShipping
}

export interface NotifyConfirmReceiveRequest {
  transaction_id?: string
  merchant_id?: string
  sub_merchant_id?: string
  merchant_trade_no?: string
  /** When the carrier saw the parcel signed for, Unix seconds; after the shipping upload. */
  received_time: number
}

/** RFC 3339 in Beijing time with milliseconds, as WeChat's examples write upload_time. */
export function shippingUploadTime (ms = Date.now()): string {
  return new Date(ms + 8 * 3600_000).toISOString().replace(/Z$/, '+08:00')
}
