import { Type, type Static } from '@sinclair/typebox'

/** Amounts are integers in fen (0.01 CNY); WeChat Pay takes the same unit, so no float ever touches money. */
export const Fen = Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'Amount in fen (0.01 CNY)' })

export const ProductId = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$' })

/**
 * An Idempotency-Key (IETF draft-ietf-httpapi-idempotency-key-header): the client's unique string for one
 * intended operation; printable ASCII, at most 255 characters. Scoped to the signed-in user.
 */
export const IdempotencyKey = Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7E]+$' })

/** The largest quantity of one product in one order. */
export const MAX_QUANTITY = 99

export const Product = Type.Object({
  id: ProductId,
  name: Type.String(),
  price: Fen
})
export type Product = Static<typeof Product>

/** payment.listProducts (GET /v1/payments/products): the active catalog. */
export const ProductList = Type.Array(Product)

export const OrderStatus = Type.Union([
  Type.Literal('PENDING'),
  Type.Literal('PAID'),
  Type.Literal('REFUNDING'),
  Type.Literal('REFUNDED'),
  Type.Literal('PARTIALLY_REFUNDED'),
  Type.Literal('CLOSED'),
  /** Shipping reported to WeChat's order shipping management; the buyer's money is still frozen. */
  Type.Literal('SHIPPED'),
  /** The buyer (or the platform) confirmed receipt. */
  Type.Literal('CONFIRMED'),
  /** The platform settled the payment to the merchant. */
  Type.Literal('SETTLED'),
  /** The buyer asked for a refund; staff approve it (REFUNDING) or decline it (back to PAID or PARTIALLY_REFUNDED). */
  Type.Literal('REFUND_REQUESTED')
])
export type OrderStatus = Static<typeof OrderStatus>

const Time = Type.String({ format: 'date-time' })
const NullableTime = Type.Union([Time, Type.Null()])

/**
 * What a product is paid with: `jsapi` (WeChat Pay, wx.requestPayment) for physical goods, `virtual` (WeChat's
 * virtual payment, wx.requestVirtualPayment) for virtual goods, which WeChat requires to go through it.
 */
export const Rail = Type.Union([Type.Literal('jsapi'), Type.Literal('virtual')])
export type Rail = Static<typeof Rail>

/** An order as its owner sees it. */
export const Order = Type.Object({
  id: Type.String({ format: 'uuid' }),
  outTradeNo: Type.String({ description: 'The merchant order number WeChat Pay knows the order by' }),
  status: OrderStatus,
  amount: Fen,
  refundedAmount: Type.Integer({ minimum: 0, description: 'Fen refunded so far (refunds that succeeded)' }),
  currency: Type.Literal('CNY'),
  productId: ProductId,
  quantity: Type.Integer({ minimum: 1, maximum: MAX_QUANTITY }),
  description: Type.String(),
  /** How the order is paid: `jsapi` (wx.requestPayment) or `virtual` (wx.requestVirtualPayment). */
  rail: Rail,
  createdAt: Time,
  expiresAt: Type.String({ format: 'date-time', description: 'An unpaid order is closed after this' }),
  paidAt: NullableTime,
  closedAt: NullableTime
})
export type Order = Static<typeof Order>

/** What wx.requestPayment takes, signed by the merchant key. */
export const PayParams = Type.Object({
  appId: Type.String(),
  timeStamp: Type.String(),
  nonceStr: Type.String(),
  package: Type.String({ description: 'prepay_id=...' }),
  signType: Type.Literal('RSA'),
  paySign: Type.String()
})
export type PayParams = Static<typeof PayParams>

/**
 * What wx.requestVirtualPayment takes: signData (the exact text, passed on as it is), paySig (HMAC-SHA256 with the
 * AppKey over `requestVirtualPayment&` + signData) and signature (HMAC-SHA256 with the user's current session_key
 * over signData).
 */
export const VirtualPayParams = Type.Object({
  mode: Type.Literal('short_series_goods'),
  signData: Type.String(),
  paySig: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  signature: Type.String({ pattern: '^[0-9a-f]{64}$' })
})
export type VirtualPayParams = Static<typeof VirtualPayParams>

/** A placed order with what the phone pays it with: payParams (JSAPI rail) or virtualPayment (virtual rail). */
export const CreatedOrder = Type.Intersect([Order, Type.Object({
  payParams: Type.Optional(PayParams),
  virtualPayment: Type.Optional(VirtualPayParams)
})])
export type CreatedOrder = Static<typeof CreatedOrder>

/** The HTTP body of POST /v1/payments/orders; the price comes from the catalog, never from the client. */
export const CreateOrderBody = Type.Object({
  productId: ProductId,
  quantity: Type.Integer({ minimum: 1, maximum: MAX_QUANTITY })
}, { additionalProperties: false })
export type CreateOrderBody = Static<typeof CreateOrderBody>

/** payment.createOrder: the body plus the Idempotency-Key header; the caller comes from x-user-id. */
export const CreateOrderRequest = Type.Object({
  idempotencyKey: IdempotencyKey,
  productId: ProductId,
  quantity: Type.Integer({ minimum: 1, maximum: MAX_QUANTITY })
}, { additionalProperties: false })
export type CreateOrderRequest = Static<typeof CreateOrderRequest>

/** `replayed` is true when this is the stored response of an earlier request with the same key. */
export const CreateOrderReply = Type.Object({ replayed: Type.Boolean(), order: CreatedOrder })
export type CreateOrderReply = Static<typeof CreateOrderReply>

/** payment.listOrders (GET /v1/payments/orders): newest first, keyset-paginated. */
export const ListOrdersRequest = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$', description: 'nextCursor of the previous page' }))
}, { additionalProperties: false })
export type ListOrdersRequest = Static<typeof ListOrdersRequest>

export const OrderPage = Type.Object({
  orders: Type.Array(Order),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last page' })
})
export type OrderPage = Static<typeof OrderPage>

/** payment.getOrder (GET /v1/payments/orders/:id): only the caller's own; anyone else's is a 404. */
export const GetOrderRequest = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false })
export type GetOrderRequest = Static<typeof GetOrderRequest>

export const OrderIdParams = GetOrderRequest

export const RefundStatus = Type.Union([
  Type.Literal('PROCESSING'),
  Type.Literal('SUCCESS'),
  Type.Literal('CLOSED'),
  Type.Literal('ABNORMAL'),
  Type.Literal('FAILED')
])
export type RefundStatus = Static<typeof RefundStatus>

export const Refund = Type.Object({
  id: Type.String({ format: 'uuid' }),
  orderId: Type.String({ format: 'uuid' }),
  outRefundNo: Type.String(),
  amount: Fen,
  reason: Type.Union([Type.String(), Type.Null()]),
  status: RefundStatus,
  createdAt: Time,
  settledAt: NullableTime
})
export type Refund = Static<typeof Refund>

/** The HTTP body of POST /v1/admin/orders/:id/refunds (a refund on the merchant's initiative). */
export const RefundBody = Type.Object({
  amount: Fen,
  reason: Type.Optional(Type.String({ minLength: 1, maxLength: 80, description: 'Shown to the payer by WeChat' }))
}, { additionalProperties: false })
export type RefundBody = Static<typeof RefundBody>

/** payment.admin.refundOrder (staff): the body, the order id from the path, and the Idempotency-Key header (the staff member's). */
export const RefundOrderRequest = Type.Object({
  idempotencyKey: IdempotencyKey,
  orderId: Type.String({ format: 'uuid' }),
  amount: Fen,
  reason: Type.Optional(Type.String({ minLength: 1, maxLength: 80 }))
}, { additionalProperties: false })
export type RefundOrderRequest = Static<typeof RefundOrderRequest>

export const RefundOrderReply = Type.Object({ replayed: Type.Boolean(), refund: Refund, order: Order })
export type RefundOrderReply = Static<typeof RefundOrderReply>

/** The HTTP body of a refund request's answer. */
export const RefundCreated = Type.Object({ refund: Refund, order: Order })

/** The answer to a WeChat Pay notification that was accepted (first time or duplicate). */
export const NotifyReply = Type.Object({ duplicate: Type.Boolean() })
export type NotifyReply = Static<typeof NotifyReply>

/** events.payment.succeeded: an order was paid. Published once per order (its id is the Nats-Msg-Id). */
export const PaymentSucceededEvent = Type.Object({
  id: Type.String({ description: 'Event id, also the Nats-Msg-Id' }),
  orderId: Type.String({ format: 'uuid' }),
  userId: Type.String({ format: 'uuid' }),
  outTradeNo: Type.String(),
  transactionId: Type.String(),
  productId: ProductId,
  quantity: Type.Integer(),
  amount: Fen,
  paidAt: Time
})
export type PaymentSucceededEvent = Static<typeof PaymentSucceededEvent>

/** events.payment.refunded: one refund reached the payer. Published once per refund. */
export const PaymentRefundedEvent = Type.Object({
  id: Type.String({ description: 'Event id, also the Nats-Msg-Id' }),
  orderId: Type.String({ format: 'uuid' }),
  userId: Type.String({ format: 'uuid' }),
  outTradeNo: Type.String(),
  outRefundNo: Type.String(),
  refundId: Type.Union([Type.String(), Type.Null()], { description: 'WeChat Pay refund_id' }),
  amount: Fen,
  refundedAmount: Type.Integer({ description: 'Total refunded on the order after this refund' }),
  orderStatus: OrderStatus,
  refundedAt: Time
})
export type PaymentRefundedEvent = Static<typeof PaymentRefundedEvent>

/** How a product reaches the buyer; the logistics_type reported to WeChat follows from it. */
export const Delivery = Type.Union([Type.Literal('express'), Type.Literal('same-city'), Type.Literal('virtual'), Type.Literal('pickup')])
export type Delivery = Static<typeof Delivery>

/** payment.shipOrder (internal: staff ship a physical order): reports it to WeChat with carrier and tracking number. */
export const ShipOrderRequest = Type.Object({
  orderId: Type.String({ format: 'uuid' }),
  /** Carrier id from WeChat's get_delivery_list (SF, YTO...); required for express. */
  expressCompany: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  /** Required for express; 1-128 bytes. */
  trackingNo: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  /** The receiver's phone, masked (138****8000); SF Express requires it. */
  receiverContact: Type.Optional(Type.String({ maxLength: 32 }))
}, { additionalProperties: false })
export type ShipOrderRequest = Static<typeof ShipOrderRequest>

/** The shipment of an order as reported (or still being reported) to WeChat. */
export const ShipOrderReply = Type.Object({
  orderId: Type.String({ format: 'uuid' }),
  /** `reported` once the platform has it; `pending` while an upload is due or its answer is being confirmed. */
  shipment: Type.Union([Type.Literal('reported'), Type.Literal('pending')]),
  order: Order
})
export type ShipOrderReply = Static<typeof ShipOrderReply>

/** events.payment.shipped: an order's shipping reached WeChat's order shipping management. Once per order. */
export const PaymentShippedEvent = Type.Object({
  id: Type.String({ description: 'Event id, also the Nats-Msg-Id' }),
  orderId: Type.String({ format: 'uuid' }),
  userId: Type.String({ format: 'uuid' }),
  outTradeNo: Type.String(),
  transactionId: Type.String(),
  logisticsType: Type.Integer({ minimum: 1, maximum: 4, description: '1 express, 2 same-city, 3 virtual, 4 pickup' }),
  shippedAt: Time
})
export type PaymentShippedEvent = Static<typeof PaymentShippedEvent>

/** events.payment.settled: WeChat settled the payment to the merchant (the money is no longer frozen). Once per order. */
export const PaymentSettledEvent = Type.Object({
  id: Type.String({ description: 'Event id, also the Nats-Msg-Id' }),
  orderId: Type.String({ format: 'uuid' }),
  userId: Type.String({ format: 'uuid' }),
  outTradeNo: Type.String(),
  transactionId: Type.String(),
  amount: Fen,
  settledAt: Time
})
export type PaymentSettledEvent = Static<typeof PaymentSettledEvent>

/** events.payment.shipping_overdue: a paid physical order is not reported and its 48 h shipping deadline is near. */
export const PaymentShippingOverdueEvent = Type.Object({
  id: Type.String({ description: 'Event id, also the Nats-Msg-Id' }),
  orderId: Type.String({ format: 'uuid' }),
  outTradeNo: Type.String(),
  transactionId: Type.String(),
  /** When WeChat's 48-hour rule is broken. */
  deadline: Time,
  /** `remind_shipping` (WeChat's push) or `deadline` (our own clock). */
  cause: Type.String()
})
export type PaymentShippingOverdueEvent = Static<typeof PaymentShippingOverdueEvent>
