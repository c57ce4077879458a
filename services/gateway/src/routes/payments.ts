import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import {
  CreatedOrder, CreateOrderBody, ListOrdersRequest, Order, OrderIdParams, OrderPage, ProductList, RefundBody, RefundCreated, Subjects,
  type CreateOrderReply, type RefundOrderReply
} from '@wxmp/contracts'
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

const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ description: 'Required. A unique value per intended payment or refund, sent again unchanged on retries; kept 24 hours per user.' }))
})

/** Stored answers replayed for a repeated Idempotency-Key say so, so clients and support can tell. */
function sendReplayable (reply: FastifyReply, replayed: boolean, body: unknown): FastifyReply {
  if (replayed) reply.header('idempotent-replayed', 'true')
  return reply.code(201).send(body)
}

/**
 * /v1/payments: the catalog, orders and refunds of the signed-in user. Creating an order or a refund needs an
 * Idempotency-Key; the WeChat Pay callback is routes/wechat-notify.ts.
 */
export default async function paymentRoutes (app: FastifyInstance): Promise<void> {
  forward(app, { method: 'GET', url: '/v1/payments/products', subject: Subjects.payment.listProducts, tags, summary: 'The products for sale, prices in fen', response: ProductList, payload: () => ({}) })

  app.post('/v1/payments/orders', {
    schema: {
      summary: 'Place an order and get the parameters for wx.requestPayment',
      description: 'The amount is the catalog price times the quantity. Repeating the request with the same Idempotency-Key returns the first answer (201, same body, header Idempotent-Replayed); 409 while the first is still running; 422 if the body differs.',
      tags,
      headers: IdempotencyHeaders,
      body: CreateOrderBody,
      response: { 201: CreatedOrder }
    }
  }, async (request, reply) => {
    const key = idempotencyKey(request)
    const body = request.body as { productId: string, quantity: number }
    const { data } = await request.callService<CreateOrderReply>(Subjects.payment.createOrder, { idempotencyKey: key, productId: body.productId, quantity: body.quantity })
    return sendReplayable(reply, data.replayed, data.order)
  })

  app.get('/v1/payments/orders', {
    schema: { summary: 'The caller\'s orders, newest first; pass nextCursor as cursor for the next page', tags, querystring: ListOrdersRequest, response: { 200: OrderPage } }
  }, async (request) => (await request.callService(Subjects.payment.listOrders, request.query)).data)

  app.get('/v1/payments/orders/:id', {
    schema: { summary: 'One of the caller\'s orders (anyone else\'s is a 404)', tags, params: OrderIdParams, response: { 200: Order } }
  }, async (request) => (await request.callService(Subjects.payment.getOrder, { id: (request.params as { id: string }).id })).data)

  app.post('/v1/payments/orders/:id/refunds', {
    schema: {
      summary: 'Refund all or part of a paid order',
      description: 'At most what is left of the paid amount. Same Idempotency-Key semantics as placing an order. The refund is PROCESSING until WeChat Pay settles it; the order then becomes PARTIALLY_REFUNDED or REFUNDED.',
      tags,
      headers: IdempotencyHeaders,
      params: OrderIdParams,
      body: RefundBody,
      response: { 201: RefundCreated }
    }
  }, async (request, reply) => {
    const key = idempotencyKey(request)
    const body = request.body as { amount: number, reason?: string }
    const payload = { idempotencyKey: key, orderId: (request.params as { id: string }).id, amount: body.amount, ...(body.reason === undefined ? {} : { reason: body.reason }) }
    const { data } = await request.callService<RefundOrderReply>(Subjects.payment.refundOrder, payload)
    return sendReplayable(reply, data.replayed, { refund: data.refund, order: data.order })
  })
}
