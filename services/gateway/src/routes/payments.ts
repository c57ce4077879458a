import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import {
  Contracts, CreatedOrder, CreateOrderBody, ListOrdersRequest, Order, OrderIdParams, OrderPage, ProductList, RefundRequestBody, RefundRequestCreated
} from '@wxmp/contracts'
import { routeOf } from '../edge-routes.js'
import { GatewayErrors } from '../errors.js'
import { forward } from './forward.js'

const tags = ['payments']

const { IdempotencyKeyMissing, IdempotencyKeyInvalid } = GatewayErrors

// draft-ietf-httpapi-idempotency-key-header: the value is a Structured Field string ("..."); clients that send it
// bare are common, so a bare value is taken as it is.
const SF_STRING = /^"((?:[\x20\x21\x23-\x5B\x5D-\x7E]|\\["\\])*)"$/
const KEY = /^[\x20-\x7E]{1,255}$/

/** The Idempotency-Key of a request: 400 IDEMPOTENCY_KEY_MISSING without one, IDEMPOTENCY_KEY_INVALID when malformed. */
export function idempotencyKey (request: FastifyRequest): string {
  const raw = request.headers['idempotency-key']
  if (raw === undefined || raw === '') throw new IdempotencyKeyMissing()
  if (typeof raw !== 'string') throw new IdempotencyKeyInvalid()
  let key = raw.trim()
  if (key.startsWith('"')) {
    const m = SF_STRING.exec(key)
    if (m === null) throw new IdempotencyKeyInvalid()
    key = (m[1] as string).replace(/\\(["\\])/g, '$1')
  }
  if (!KEY.test(key)) throw new IdempotencyKeyInvalid()
  return key
}

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ description: 'Required. A unique value per intended payment or refund, sent again unchanged on retries; kept 24 hours per user.' }))
})

/** Stored answers replayed for a repeated Idempotency-Key say so, so clients and support can tell. */
export function markReplayed (reply: Pick<FastifyReply, 'header'>, replayed: boolean): void {
  if (replayed) reply.header('idempotent-replayed', 'true')
}

/**
 * /v1/payments: the catalog, orders and refund requests of the signed-in user. Creating an order or a refund request
 * needs an Idempotency-Key; the WeChat Pay callback is routes/wechat-notify.ts, the staff's side routes/admin.ts.
 */
export default async function paymentRoutes (app: FastifyInstance): Promise<void> {
  forward(app, { route: 'GET /v1/payments/products', subject: Contracts.payment.listProducts.subject, tags, summary: 'The products for sale, prices in fen', response: ProductList, payload: () => ({}) })

  const typed = app.withTypeProvider<TypeBoxTypeProvider>()

  typed.route({
    ...routeOf('POST /v1/payments/orders'),
    schema: {
      summary: 'Place an order and get the parameters for wx.requestPayment',
      description: 'The amount is the catalog price times the quantity. Repeating the request with the same Idempotency-Key returns the first answer (201, same body, header Idempotent-Replayed); 409 while the first is still running; 422 if the body differs.',
      tags,
      headers: IdempotencyHeaders,
      body: CreateOrderBody,
      response: { 201: CreatedOrder }
    },
    handler: async (request, reply) => {
      const key = idempotencyKey(request)
      const { productId, quantity } = request.body
      const { data } = await request.callService(Contracts.payment.createOrder, { idempotencyKey: key, productId, quantity })
      markReplayed(reply, data.replayed)
      return await reply.code(201).send(data.order)
    }
  })

  typed.route({
    ...routeOf('GET /v1/payments/orders'),
    schema: { summary: 'The caller\'s orders, newest first; pass nextCursor as cursor for the next page', tags, querystring: ListOrdersRequest, response: { 200: OrderPage } },
    handler: async (request) => (await request.callService(Contracts.payment.listOrders, request.query)).data
  })

  typed.route({
    ...routeOf('GET /v1/payments/orders/:id'),
    schema: { summary: 'One of the caller\'s orders (anyone else\'s is a 404)', tags, params: OrderIdParams, response: { 200: Order } },
    handler: async (request) => (await request.callService(Contracts.payment.getOrder, { id: request.params.id })).data
  })

  typed.route({
    ...routeOf('POST /v1/payments/orders/:id/pay-params'),
    schema: {
      summary: 'Fresh parameters for wx.requestPayment, to pay an unpaid order later',
      description: 'The order with payParams signed now. WeChat\'s prepay_id lives two hours: an older prepay is placed again at WeChat Pay under the same out_trade_no. 409 ORDER_NOT_PAYABLE once the order is paid, closed or about to expire. Safe to repeat; no body.',
      tags,
      params: OrderIdParams,
      response: { 200: CreatedOrder }
    },
    handler: async (request) => (await request.callService(Contracts.payment.payParams, { id: request.params.id })).data
  })

  typed.route({
    ...routeOf('POST /v1/payments/orders/:id/refund-requests'),
    schema: {
      summary: 'Ask the merchant for a refund of a paid order',
      description: 'Records the request (the order becomes REFUND_REQUESTED); nothing is refunded until staff approve it (then REFUNDING, and PARTIALLY_REFUNDED or REFUNDED once WeChat Pay settles), or they decline it (back to PAID, the reason in the order\'s history). At most what is left to refund (422 REFUND_EXCEEDS_PAID); one open request per order (409 REFUND_REQUEST_OPEN). Same Idempotency-Key semantics as placing an order.',
      tags,
      headers: IdempotencyHeaders,
      params: OrderIdParams,
      body: RefundRequestBody,
      response: { 201: RefundRequestCreated }
    },
    handler: async (request, reply) => {
      const key = idempotencyKey(request)
      const { amount, reason } = request.body
      const { data } = await request.callService(Contracts.payment.requestRefund, { idempotencyKey: key, orderId: request.params.id, amount, reason })
      markReplayed(reply, data.replayed)
      return await reply.code(201).send({ request: data.request, order: data.order })
    }
  })

  typed.route({
    ...routeOf('POST /v1/payments/orders/:id/cancel'),
    schema: {
      summary: 'Cancel an unpaid order',
      description: 'Closed at WeChat Pay first (so it can no longer be paid), then CLOSED. Safe to repeat; no body. 409 ORDER_NOT_CLOSABLE once paid (refund requests are the way back then); anyone else\'s order is a 404.',
      tags,
      params: OrderIdParams,
      response: { 200: Order }
    },
    handler: async (request) => (await request.callService(Contracts.payment.cancelOrder, { id: request.params.id })).data
  })
}
