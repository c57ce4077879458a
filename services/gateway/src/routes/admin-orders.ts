import type { FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import {
  AdminOrderDetail, AdminOrderPage, AdminSearchOrdersRequest, Contracts, DeclineRefundBody, Order, OrderIdParams, RefundBody, RefundCreated,
  RefundDecision, ShipBody, ShipOrderReply
} from '@wxmp/contracts'
import { routeOf } from '../edge-routes.js'
import { idempotencyKey, IdempotencyHeaders, markReplayed } from './payments.js'

const tags = ['admin']
const RequestIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false })

/**
 * /v1/admin (orders and refunds): the merchant's staff API over payment.admin.*. The edge admits staff and admins only
 * (and, for money, a recent TOTP), and /docs says so from the edge table; the payment service checks both again.
 */
export default async function adminOrderRoutes (app: FastifyInstance): Promise<void> {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>()

  typed.route({
    ...routeOf('GET /v1/admin/orders'),
    schema: {
      summary: 'Search every order, newest first',
      description: 'Filters: status, userId, outTradeNo, created in [from, to). limit 1-100 (default 20); pass nextCursor as cursor (with the same filters) for the next page.',
      tags,
      querystring: AdminSearchOrdersRequest,
      response: { 200: AdminOrderPage }
    },
    handler: async (request) => (await request.callService(Contracts.payment.adminSearchOrders, request.query)).data
  })

  typed.route({
    ...routeOf('GET /v1/admin/orders/:id'),
    schema: {
      summary: 'One order with its transitions, refunds and refund requests',
      description: 'Any buyer\'s order; transitions oldest first, each with its cause.',
      tags,
      params: OrderIdParams,
      response: { 200: AdminOrderDetail }
    },
    handler: async (request) => (await request.callService(Contracts.payment.adminGetOrder, { id: request.params.id })).data
  })

  typed.route({
    ...routeOf('POST /v1/admin/refund-requests/:id/approve'),
    schema: {
      summary: 'Approve a buyer\'s refund request',
      description: 'Opens the refund the buyer asked for and sends it to WeChat Pay (order REFUNDING). Approving again answers the same refund and refunds nothing more. No body.',
      tags,
      params: RequestIdParams,
      response: { 200: RefundDecision }
    },
    handler: async (request) => (await request.callService(Contracts.payment.adminApproveRefund, { requestId: request.params.id })).data
  })

  typed.route({
    ...routeOf('POST /v1/admin/refund-requests/:id/decline'),
    schema: {
      summary: 'Decline a buyer\'s refund request',
      description: 'The order goes back to PAID (or PARTIALLY_REFUNDED) with the reason in its history; the buyer may ask again.',
      tags,
      params: RequestIdParams,
      body: DeclineRefundBody,
      response: { 200: RefundDecision }
    },
    handler: async (request) => (await request.callService(Contracts.payment.adminDeclineRefund, { requestId: request.params.id, reason: request.body.reason })).data
  })

  typed.route({
    ...routeOf('POST /v1/admin/orders/:id/refunds'),
    schema: {
      summary: 'Refund an order on the merchant\'s initiative',
      description: 'Part or all of what is left (422 REFUND_EXCEEDS_PAID above it). Idempotency-Key required, scoped to the staff member; a repeat answers the first refund.',
      tags,
      headers: IdempotencyHeaders,
      params: OrderIdParams,
      body: RefundBody,
      response: { 201: RefundCreated }
    },
    handler: async (request, reply) => {
      const key = idempotencyKey(request)
      const { amount, reason } = request.body
      const { data } = await request.callService(Contracts.payment.refundOrder, { idempotencyKey: key, orderId: request.params.id, amount, ...(reason === undefined ? {} : { reason }) })
      markReplayed(reply, data.replayed)
      return await reply.code(201).send({ refund: data.refund, order: data.order })
    }
  })

  typed.route({
    ...routeOf('POST /v1/admin/orders/:id/ship'),
    schema: {
      summary: 'Ship a physical order: report carrier and tracking number to WeChat',
      description: 'Reported to WeChat\'s order shipping management at once (shipment `reported`, order SHIPPED), or `pending` while an uncertain upload is settled. Shipping again changes nothing. Virtual goods are reported automatically.',
      tags,
      params: OrderIdParams,
      body: ShipBody,
      response: { 200: ShipOrderReply }
    },
    handler: async (request) => (await request.callService(Contracts.payment.shipOrder, { orderId: request.params.id, ...request.body })).data
  })

  typed.route({
    ...routeOf('POST /v1/admin/orders/:id/close'),
    schema: {
      summary: 'Close an unpaid order',
      description: 'Closed at WeChat Pay first, then CLOSED; 409 ORDER_NOT_CLOSABLE once paid. Safe to repeat; no body.',
      tags,
      params: OrderIdParams,
      response: { 200: Order }
    },
    handler: async (request) => (await request.callService(Contracts.payment.adminCloseOrder, { id: request.params.id })).data
  })
}
