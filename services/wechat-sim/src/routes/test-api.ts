import { createCipheriv, randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { Errors } from '@wxmp/core'
import { ENDPOINTS, type FaultSpec } from '../domain/faults.js'
import { PayState } from '../domain/pay.js'
import { openSheet } from '../domain/request-payment.js'

const Endpoint = Type.Union([...ENDPOINTS.map((e) => Type.Literal(e)), Type.Literal('*')])

const FaultBody = Type.Object({
  endpoint: Endpoint,
  errcode: Type.Optional(Type.Integer({ description: 'Mini-program APIs: answer with this errcode.' })),
  errmsg: Type.Optional(Type.String()),
  code: Type.Optional(Type.String({ pattern: '^[A-Z_]+$', description: 'WeChat Pay: answer with this error code.' })),
  message: Type.Optional(Type.String()),
  status: Type.Optional(Type.Integer({ minimum: 200, maximum: 599 })),
  latencyMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 120_000 })),
  badSignature: Type.Optional(Type.Boolean()),
  unsigned: Type.Optional(Type.Boolean({ description: 'WeChat Pay: answer without any signature.' })),
  hangup: Type.Optional(Type.Boolean()),
  lostAnswer: Type.Optional(Type.Boolean({ description: 'Carry the call out, then drop the connection: the answer is lost.' })),
  times: Type.Optional(Type.Integer({ minimum: 1 })),
  probability: Type.Optional(Type.Number({ minimum: 0, maximum: 1 }))
}, { additionalProperties: false })

const WxLogin = Type.Object({
  openid: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  unionid: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  blocked: Type.Optional(Type.Boolean({ description: 'WeChat risk control blocks this user: code2Session answers 40226.' }))
}, { additionalProperties: false })

const PhoneCode = Type.Object({
  openid: Type.String({ minLength: 1, maxLength: 64 }),
  phoneNumber: Type.String({ pattern: '^\\+?[0-9 -]{5,20}$' }),
  countryCode: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$' }))
}, { additionalProperties: false })

const Pay = Type.Object({
  outTradeNo: Type.String({ minLength: 1 }),
  result: Type.Union([Type.Literal('SUCCESS'), Type.Literal('FAIL')]),
  duplicates: Type.Optional(Type.Integer({ minimum: 0, maximum: 10, description: 'Extra copies of the notification sent at once.' })),
  delayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000, description: 'Wait before the first delivery.' }))
}, { additionalProperties: false })

const RequestPayment = Type.Object({
  timeStamp: Type.String(),
  nonceStr: Type.String(),
  package: Type.String(),
  signType: Type.String(),
  paySign: Type.String(),
  action: Type.Optional(Type.Union([Type.Literal('pay'), Type.Literal('cancel')], { description: 'What the buyer does on the sheet; pay by default.' }))
}, { additionalProperties: false })

const SettleRefund = Type.Object({
  outRefundNo: Type.String({ minLength: 1 }),
  result: Type.Union([Type.Literal('SUCCESS'), Type.Literal('CLOSED'), Type.Literal('ABNORMAL')])
}, { additionalProperties: false })

const Redeliver = Type.Object({
  id: Type.Optional(Type.String({ description: 'A notification id.' })),
  subject: Type.Optional(Type.String({ description: 'Or the out_trade_no / out_refund_no: its latest notification.' }))
}, { additionalProperties: false })

const EncryptedData = Type.Object({
  openid: Type.String({ minLength: 1 }),
  data: Type.Record(Type.String(), Type.Unknown())
}, { additionalProperties: false })

/** The phone-side test API: what a user and WeChat would do, on demand, plus fault injection and counters. */
export default async function testApiRoutes (app: FastifyInstance): Promise<void> {
  const { sim } = app

  app.post('/wx-login', {
    schema: { body: WxLogin },
    // `curl -XPOST .../sim/wx-login` with no body at all is the common case: a new user.
    preValidation: async (request) => { if (request.body === undefined || request.body === null) request.body = {} }
  }, async (request) => {
    return sim.mp.login(request.body as Static<typeof WxLogin>)
  })

  app.post('/phone-code', { schema: { body: PhoneCode } }, async (request) => {
    return sim.mp.phoneCode(request.body as Static<typeof PhoneCode>)
  })

  // The buyer's payment of a placed order. WeChat Pay notifies successful payments only; a failed one shows up
  // in the order query as PAYERROR.
  const paid = (outTradeNo: string, result: 'SUCCESS' | 'FAIL', opts: { duplicates?: number, delayMs?: number } = {}): Record<string, unknown> => {
    const r = sim.pay.pay(outTradeNo, result)
    if ('error' in r) {
      if (r.error === 'NOT_FOUND') throw new Errors.NotFound(`No order ${outTradeNo.slice(0, 64)} was placed with /v3/pay/transactions/jsapi`)
      throw new Errors.Conflict(r.error === 'ALREADY_PAID' ? 'The order is already paid' : 'The order is closed')
    }
    const order = r.ok
    if (order.state !== 'SUCCESS') return { outTradeNo: order.outTradeNo, tradeState: order.state }
    sim.shipping.paid(order)
    const delivery = sim.notifier.notify({
      url: order.notifyUrl,
      eventType: 'TRANSACTION.SUCCESS',
      summary: '支付成功',
      originalType: 'transaction',
      subject: order.outTradeNo,
      resource: PayState.transaction(order)
    }, { ...(opts.duplicates === undefined ? {} : { duplicates: opts.duplicates }), ...(opts.delayMs === undefined ? {} : { delayMs: opts.delayMs }) })
    return { outTradeNo: order.outTradeNo, tradeState: order.state, transactionId: order.transactionId, notificationId: delivery.id }
  }

  app.post('/pay', { schema: { body: Pay } }, async (request) => {
    const body = request.body as Static<typeof Pay>
    return paid(body.outTradeNo, body.result, body)
  })

  // wx.requestPayment as the phone plays it: the sheet opens only for parameters signed by the merchant's key
  // for this app, then the buyer pays or closes it. Answers with the errMsg the mini-program would see.
  app.post('/request-payment', { schema: { body: RequestPayment } }, async (request) => {
    const body = request.body as Static<typeof RequestPayment>
    const sheet = openSheet(body, sim.config.WECHAT_APPID, sim.keys.merchantPublicKey, sim.pay.orders.values(), (o) => sim.pay.prepayExpired(o))
    if ('errMsg' in sheet) return { errMsg: sheet.errMsg }
    if (body.action === 'cancel') return { errMsg: 'requestPayment:fail cancel', outTradeNo: sheet.order.outTradeNo }
    if (sheet.order.state === 'SUCCESS') return { errMsg: 'requestPayment:fail 该订单已支付', outTradeNo: sheet.order.outTradeNo }
    if (sheet.order.state !== 'NOTPAY' && sheet.order.state !== 'PAYERROR') return { errMsg: 'requestPayment:fail 订单已关闭', outTradeNo: sheet.order.outTradeNo }
    return { errMsg: 'requestPayment:ok', ...paid(sheet.order.outTradeNo, 'SUCCESS') }
  })

  app.post('/refund', { schema: { body: SettleRefund } }, async (request) => {
    const body = request.body as Static<typeof SettleRefund>
    const settled = sim.settleRefund(body.outRefundNo, body.result)
    if (settled === undefined) {
      if (!sim.pay.refunds.has(body.outRefundNo)) throw new Errors.NotFound(`No refund ${body.outRefundNo.slice(0, 64)}`)
      throw new Errors.Conflict('The refund is no longer PROCESSING')
    }
    return { outRefundNo: body.outRefundNo, status: settled.refund.status, notificationId: settled.notificationId }
  })

  app.post('/faults', { schema: { body: Type.Union([FaultBody, Type.Array(FaultBody, { maxItems: 50 })]) } }, async (request) => {
    const specs = (Array.isArray(request.body) ? request.body : [request.body]) as FaultSpec[]
    return { faults: specs.map((s) => sim.faults.add(s)) }
  })
  app.get('/faults', async () => ({ faults: sim.faults.list() }))
  app.delete('/faults', async (_request, reply) => {
    sim.faults.clear()
    return reply.code(204).send()
  })

  app.get('/stats', async () => ({
    calls: sim.stats.calls,
    stableTokensIssued: sim.stats.stableTokensIssued,
    prepay: sim.stats.prepay,
    shippingUploads: sim.stats.shippingUploads,
    payCalls: sim.stats.payCalls,
    notifications: sim.notifier.list().map((d) => ({ id: d.id, eventType: d.eventType, subject: d.subject, state: d.state, attempts: d.attempts.length }))
  }))
  app.delete('/stats', async (_request, reply) => {
    sim.stats.reset()
    return reply.code(204).send()
  })

  app.get('/notifications', { schema: { querystring: Type.Object({ subject: Type.Optional(Type.String()) }) } }, async (request) => {
    const { subject } = request.query as { subject?: string }
    return { notifications: sim.notifier.list().filter((d) => subject === undefined || d.subject === subject) }
  })

  app.post('/notifications/redeliver', { schema: { body: Redeliver } }, async (request) => {
    const { id, subject } = request.body as Static<typeof Redeliver>
    const target = id ?? sim.notifier.list().filter((d) => d.subject === subject).at(-1)?.id
    const delivery = target === undefined ? undefined : sim.notifier.redeliver(target)
    if (delivery === undefined) throw new Errors.NotFound('No such notification')
    return { id: delivery.id, state: delivery.state }
  })

  app.post('/access-token/expire', { schema: { body: Type.Object({ token: Type.String({ minLength: 1 }) }, { additionalProperties: false }) } }, async (request) => {
    if (!sim.mp.expireToken((request.body as { token: string }).token)) throw new Errors.NotFound('No such access_token')
    return { expired: true }
  })

  // Legacy encryptedData (wx.getUserInfo and friends), encrypted as WeChat does for the user's current session.
  app.post('/encrypted-data', { schema: { body: EncryptedData } }, async (request) => {
    const { openid, data } = request.body as Static<typeof EncryptedData>
    const sessionKey = sim.mp.users.get(openid)?.sessionKey
    if (sessionKey === undefined) throw new Errors.Conflict('The user has no session yet: exchange a /sim/wx-login code first')
    const iv = randomBytes(16)
    const cipher = createCipheriv('aes-128-cbc', Buffer.from(sessionKey, 'base64'), iv)
    const plain = JSON.stringify({ ...data, watermark: { timestamp: Math.floor(Date.now() / 1000), appid: sim.config.WECHAT_APPID } })
    return { encryptedData: Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]).toString('base64'), iv: iv.toString('base64') }
  })
}
