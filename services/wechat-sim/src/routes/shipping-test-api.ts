import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { Errors } from '@wxmp/core'
import type { Order } from '../domain/pay.js'

const PaymentRef = Type.Object({
  transactionId: Type.Optional(Type.String({ minLength: 1 })),
  outTradeNo: Type.Optional(Type.String({ minLength: 1 }))
}, { additionalProperties: false })

const PushConfig = Type.Object({
  url: Type.String({ description: 'The merchant\'s push URL; empty stops pushes.' }),
  token: Type.String({ pattern: '^[A-Za-z0-9]{3,32}$' }),
  encodingAesKey: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9+/]{43}$' })),
  mode: Type.Union([Type.Literal('plain'), Type.Literal('compatible'), Type.Literal('safe')]),
  format: Type.Union([Type.Literal('json'), Type.Literal('xml')])
}, { additionalProperties: false })

const Redeliver = Type.Object({
  id: Type.Optional(Type.String()),
  subject: Type.Optional(Type.String({ description: 'Or a transaction_id: its latest push.' }))
}, { additionalProperties: false })

/** The buyer's and the platform's side of order shipping management, for tests and the demo. */
export default async function shippingTestApiRoutes (app: FastifyInstance): Promise<void> {
  const { sim } = app
  const { state } = sim.shipping

  function payment (ref: Static<typeof PaymentRef>): Order {
    const order = ref.transactionId !== undefined
      ? state.find({ transactionId: ref.transactionId })
      : ref.outTradeNo !== undefined ? state.find({ mchid: sim.config.WECHATPAY_MCHID, outTradeNo: ref.outTradeNo }) : undefined
    if (order === undefined) throw new Errors.NotFound('No paid payment with that transactionId or outTradeNo')
    return order
  }

  function view (order: Order): Record<string, unknown> {
    const shipment = state.shipments.get(order.transactionId!)
    return {
      transactionId: order.transactionId,
      outTradeNo: order.outTradeNo,
      orderState: state.state(order),
      // Outside order shipping management nothing is frozen.
      funds: sim.config.SIM_TRADE_MANAGED ? state.funds(order) : state.state(order) === 5 ? 'refunded' : 'settled',
      uploads: sim.stats.shippingUploads[order.transactionId!] ?? 0,
      finishShippingCount: shipment?.uploads ?? 0,
      logisticsType: shipment?.logisticsType,
      confirmMethod: shipment?.confirmMethod,
      confirmReminded: shipment?.confirmReminded ?? false
    }
  }

  // The buyer taps 确认收货.
  app.post('/confirm-receipt', { schema: { body: PaymentRef } }, async (request) => {
    const order = payment(request.body as Static<typeof PaymentRef>)
    const r = sim.shipping.confirm(order, 1)
    if ('error' in r) throw new Errors.Conflict(`The payment cannot be confirmed now (order_state ${state.state(order)})`)
    return view(order)
  })

  // Settles a received payment now (with SIM_SETTLEMENT_DELAY_MS=-1 settlements wait for this).
  app.post('/settle', { schema: { body: PaymentRef } }, async (request) => {
    const order = payment(request.body as Static<typeof PaymentRef>)
    if (sim.shipping.settle(order) === undefined) throw new Errors.Conflict(`The payment cannot be settled now (order_state ${state.state(order)})`)
    return view(order)
  })

  // The platform reminds the merchant to ship.
  app.post('/remind-shipping', { schema: { body: PaymentRef } }, async (request) => {
    const order = payment(request.body as Static<typeof PaymentRef>)
    if (state.state(order) !== 1) throw new Errors.Conflict('The payment is already shipped')
    sim.shipping.remindShipping(order)
    return view(order)
  })

  app.get('/shipping', { schema: { querystring: PaymentRef } }, async (request) => {
    const ref = request.query as Static<typeof PaymentRef>
    if (ref.transactionId !== undefined || ref.outTradeNo !== undefined) return view(payment(ref))
    return { payments: [...sim.pay.orders.values()].filter((o) => o.transactionId !== undefined).map(view), msgJumpPath: state.msgJumpPath ?? null }
  })

  app.put('/push-config', { schema: { body: PushConfig } }, async (request) => {
    const body = request.body as Static<typeof PushConfig>
    if (body.mode !== 'plain' && body.encodingAesKey === undefined) throw new Errors.BadRequest(`${body.mode} mode needs encodingAesKey`)
    sim.pusher.settings = { url: body.url, token: body.token, encodingAesKey: body.encodingAesKey ?? '', mode: body.mode, format: body.format }
    return { url: body.url, mode: body.mode, format: body.format }
  })

  app.get('/pushes', { schema: { querystring: Type.Object({ subject: Type.Optional(Type.String()), event: Type.Optional(Type.String()) }) } }, async (request) => {
    const { subject, event } = request.query as { subject?: string, event?: string }
    return { pushes: sim.pusher.list().filter((d) => (subject === undefined || d.subject === subject) && (event === undefined || d.event === event)) }
  })

  app.post('/pushes/redeliver', { schema: { body: Redeliver } }, async (request) => {
    const { id, subject } = request.body as Static<typeof Redeliver>
    const target = id ?? sim.pusher.list().filter((d) => d.subject === subject).at(-1)?.id
    const delivery = target === undefined ? undefined : sim.pusher.redeliver(target)
    if (delivery === undefined) throw new Errors.NotFound('No such push')
    return { id: delivery.id, state: delivery.state }
  })
}
