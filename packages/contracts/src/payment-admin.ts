import { Type, type Static } from '@sinclair/typebox'
import { Fen, IdempotencyKey, Order, OrderStatus, Refund } from './payment.js'

/**
 * The merchant's side of payments: buyers' refund requests, the staff API (`payment.admin.*`) and the audit events
 * (`events.admin.*`). Staff subjects check the caller's role (x-user-role) in the service as well as at the edge.
 */

const Time = Type.String({ format: 'date-time' })
const NullableTime = Type.Union([Time, Type.Null()])
const Uuid = Type.String({ format: 'uuid' })

/** REQUESTED until staff decide: APPROVED (a refund was opened) or DECLINED (with the staff's reason). */
export const RefundRequestStatus = Type.Union([Type.Literal('REQUESTED'), Type.Literal('APPROVED'), Type.Literal('DECLINED')])
export type RefundRequestStatus = Static<typeof RefundRequestStatus>

/** A buyer's request for a refund, as the buyer and staff see it. */
export const RefundRequest = Type.Object({
  id: Uuid,
  orderId: Uuid,
  amount: Fen,
  reason: Type.String(),
  status: RefundRequestStatus,
  /** Why staff declined it; null otherwise. */
  declineReason: Type.Union([Type.String(), Type.Null()]),
  /** The refund opened when it was approved. */
  refundId: Type.Union([Uuid, Type.Null()]),
  createdAt: Time,
  decidedAt: NullableTime
})
export type RefundRequest = Static<typeof RefundRequest>

/** The HTTP body of POST /v1/payments/orders/:id/refund-requests. */
export const RefundRequestBody = Type.Object({
  amount: Fen,
  reason: Type.String({ minLength: 1, maxLength: 80, description: 'Why the buyer wants the money back; staff read it, and WeChat shows it to the payer if approved' })
}, { additionalProperties: false })
export type RefundRequestBody = Static<typeof RefundRequestBody>

/** payment.requestRefund: the body, the order id from the path, and the Idempotency-Key header. */
export const CreateRefundRequest = Type.Object({
  idempotencyKey: IdempotencyKey,
  orderId: Uuid,
  amount: Fen,
  reason: Type.String({ minLength: 1, maxLength: 80 })
}, { additionalProperties: false })
export type CreateRefundRequest = Static<typeof CreateRefundRequest>

export const RefundRequestReply = Type.Object({ replayed: Type.Boolean(), request: RefundRequest, order: Order })
export type RefundRequestReply = Static<typeof RefundRequestReply>

/** The HTTP answer of a refund request. */
export const RefundRequestCreated = Type.Object({ request: RefundRequest, order: Order })

/** An order as staff see it: the buyer's user id, the delivery and WeChat Pay's transaction id as well. */
export const AdminOrder = Type.Intersect([Order, Type.Object({
  userId: Uuid,
  delivery: Type.String(),
  transactionId: Type.Union([Type.String(), Type.Null()])
})])
export type AdminOrder = Static<typeof AdminOrder>

/** payment.admin.searchOrders (GET /v1/admin/orders): newest first, every filter optional, keyset-paginated. */
export const AdminSearchOrdersRequest = Type.Object({
  status: Type.Optional(OrderStatus),
  userId: Type.Optional(Uuid),
  outTradeNo: Type.Optional(Type.String({ minLength: 6, maxLength: 32, pattern: '^[A-Za-z0-9_|*-]+$' })),
  /** Created at or after. */
  from: Type.Optional(Type.String({ format: 'date-time' })),
  /** Created before. */
  to: Type.Optional(Type.String({ format: 'date-time' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$', description: 'nextCursor of the previous page (with the same filters)' }))
}, { additionalProperties: false })
export type AdminSearchOrdersRequest = Static<typeof AdminSearchOrdersRequest>

export const AdminOrderPage = Type.Object({
  orders: Type.Array(AdminOrder),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last page' })
})
export type AdminOrderPage = Static<typeof AdminOrderPage>

/** One status change of an order and what caused it. */
export const OrderTransition = Type.Object({
  from: Type.Union([OrderStatus, Type.Null()]),
  to: OrderStatus,
  cause: Type.String(),
  detail: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  at: Time
})
export type OrderTransition = Static<typeof OrderTransition>

/** payment.admin.getOrder (GET /v1/admin/orders/:id): any order, with its history, refunds and refund requests. */
export const AdminOrderDetail = Type.Object({
  order: AdminOrder,
  transitions: Type.Array(OrderTransition),
  refunds: Type.Array(Refund),
  refundRequests: Type.Array(RefundRequest)
})
export type AdminOrderDetail = Static<typeof AdminOrderDetail>

/** payment.admin.approveRefund: opens the refund the request asked for. */
export const ApproveRefundRequest = Type.Object({ requestId: Uuid }, { additionalProperties: false })
export type ApproveRefundRequest = Static<typeof ApproveRefundRequest>

/** The HTTP body of declining a refund request. */
export const DeclineRefundBody = Type.Object({
  reason: Type.String({ minLength: 1, maxLength: 200, description: 'Why, for the buyer and the audit trail' })
}, { additionalProperties: false })

/** payment.admin.declineRefund: the order goes back to the status it had before the request. */
export const DeclineRefundRequest = Type.Object({ requestId: Uuid, reason: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false })
export type DeclineRefundRequest = Static<typeof DeclineRefundRequest>

/** What deciding a refund request leaves: the request, the order, and the refund when it was approved. */
export const RefundDecision = Type.Object({ request: RefundRequest, order: Order, refund: Type.Union([Refund, Type.Null()]) })
export type RefundDecision = Static<typeof RefundDecision>

/** payment.cancelOrder (buyer) and payment.admin.closeOrder (staff): an unpaid order, closed at WeChat Pay first. */
export const CloseOrderRequest = Type.Object({ id: Uuid }, { additionalProperties: false })
export type CloseOrderRequest = Static<typeof CloseOrderRequest>

/** The HTTP body of a staff shipment (POST /v1/admin/orders/:id/ship); the order id comes from the path. */
export const ShipBody = Type.Object({
  expressCompany: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Carrier id from WeChat\'s get_delivery_list (SF, YTO...); required for express' })),
  trackingNo: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Required for express' })),
  receiverContact: Type.Optional(Type.String({ maxLength: 32, description: 'The receiver\'s phone, masked (138****8000); SF Express requires it' }))
}, { additionalProperties: false })

/** What staff did, for the audit stream. */
export const AdminAction = Type.Union([
  Type.Literal('refund_approved'),
  Type.Literal('refund_declined'),
  Type.Literal('refund_issued'),
  Type.Literal('order_shipped'),
  Type.Literal('order_closed')
])
export type AdminAction = Static<typeof AdminAction>

/**
 * events.admin.<action>: one staff action on an order, once (its id, derived from what was acted on, is the
 * Nats-Msg-Id). Who did it, to which order, and the money involved; never tokens or personal data.
 */
export const AdminActionEvent = Type.Object({
  id: Type.String({ description: 'Event id, also the Nats-Msg-Id' }),
  action: AdminAction,
  /** The staff member's user id. */
  actorId: Uuid,
  actorRole: Type.String(),
  orderId: Uuid,
  outTradeNo: Type.String(),
  /** Fen the action concerns (the refund's amount); absent for shipping and closing. */
  amount: Type.Optional(Fen),
  refundRequestId: Type.Optional(Uuid),
  outRefundNo: Type.Optional(Type.String()),
  /** The staff's reason (declines, merchant refunds). */
  reason: Type.Optional(Type.String()),
  at: Time
})
export type AdminActionEvent = Static<typeof AdminActionEvent>
