import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { Errors } from '@wxmp/core'
import { answer, applyFaults, DATA_FORMAT_ERROR, jsonBody, wechatApiScope } from './wx-answer.js'

/**
 * The server APIs of WeChat's virtual payment at their real paths (`/xpay/...`), each checking the access_token and
 * `pay_sig` = HMAC-SHA256(AppKey, uri + '&' + body) over the exact body received.
 */
export async function xpayRoutes (app: FastifyInstance): Promise<void> {
  const { sim } = app
  wechatApiScope(app)

  /** The body when the token and pay_sig check out; otherwise the answer is sent and undefined returned. */
  function signed (uri: string, request: FastifyRequest, reply: FastifyReply): Record<string, unknown> | undefined {
    const q = request.query as Record<string, string | undefined>
    const tokenError = sim.mp.checkToken(q.access_token)
    if (tokenError !== undefined) { answer(reply, tokenError); return undefined }
    const raw = typeof request.body === 'string' ? request.body : ''
    const sigError = sim.xpay.checkPaySig(uri, raw, q.pay_sig)
    if (sigError !== undefined) { answer(reply, sigError); return undefined }
    const body = jsonBody(request)
    if (body === undefined) { answer(reply, DATA_FORMAT_ERROR); return undefined }
    return body
  }

  app.post('/xpay/query_order', async (request, reply) => {
    if (await applyFaults(sim, 'xpay_query_order', request, reply) === undefined) return reply
    const body = signed('/xpay/query_order', request, reply)
    if (body === undefined) return reply
    const r = sim.xpay.queryOrder(body)
    if ('error' in r) return answer(reply, r.error)
    return { errcode: 0, errmsg: 'ok', order: r.order }
  })

  app.post('/xpay/refund_order', async (request, reply) => {
    if (await applyFaults(sim, 'xpay_refund_order', request, reply) === undefined) return reply
    const body = signed('/xpay/refund_order', request, reply)
    if (body === undefined) return reply
    const r = sim.xpay.refund(body)
    if ('error' in r) return answer(reply, r.error)
    return { errcode: 0, errmsg: 'ok', ...r.ok }
  })

  app.post('/xpay/notify_provide_goods', async (request, reply) => {
    if (await applyFaults(sim, 'xpay_notify_provide_goods', request, reply) === undefined) return reply
    const body = signed('/xpay/notify_provide_goods', request, reply)
    if (body === undefined) return reply
    const err = sim.xpay.provideGoods(body)
    if (err !== undefined) return answer(reply, err)
    return { errcode: 0, errmsg: 'ok' }
  })
}

const VirtualPay = Type.Object({
  openid: Type.String({ minLength: 1, maxLength: 64 }),
  mode: Type.String(),
  signData: Type.String({ minLength: 2 }),
  paySig: Type.String(),
  signature: Type.String(),
  /** `lost`: paid, but the deliver push never reaches the merchant (for the reconciler). */
  push: Type.Optional(Type.Union([Type.Literal('send'), Type.Literal('lost')]))
}, { additionalProperties: false })

const Openid = Type.Object({ openid: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false })

/** The phone's side of virtual payment, for tests and the demo. */
export async function xpayTestApiRoutes (app: FastifyInstance): Promise<void> {
  const { sim } = app

  // wx.requestVirtualPayment on the phone: WeChat checks paySig and the user-state signature, takes the money and
  // sends xpay_goods_deliver_notify. A refusal is the fail callback's {errCode, errMsg}, answered with 400.
  app.post('/virtual-pay', { schema: { body: VirtualPay } }, async (request, reply) => {
    const input = request.body as Static<typeof VirtualPay>
    if (input.push === 'lost') {
      const url = sim.pusher.settings.url
      sim.pusher.settings.url = ''
      try {
        const r = sim.xpay.pay(input)
        if ('fail' in r) return await reply.code(400).send(r.fail)
        return { errMsg: 'requestVirtualPayment:ok', outTradeNo: r.ok.orderId, wxOrderId: r.ok.wxOrderId }
      } finally {
        sim.pusher.settings.url = url
      }
    }
    const r = sim.xpay.pay(input)
    if ('fail' in r) return await reply.code(400).send(r.fail)
    return { errMsg: 'requestVirtualPayment:ok', outTradeNo: r.ok.orderId, wxOrderId: r.ok.wxOrderId, pushId: r.deliveryId }
  })

  // WeChat replaces the user's session_key behind the backend's back (a wx.login whose code went elsewhere).
  app.post('/session-key/renew', { schema: { body: Openid } }, async (request) => {
    if (!sim.mp.renewSessionKey((request.body as Static<typeof Openid>).openid)) throw new Errors.NotFound('No signed-in user with that openid')
    return { renewed: true }
  })

  app.get('/xpay/orders/:outTradeNo', async (request) => {
    const order = sim.xpay.orders.get((request.params as { outTradeNo: string }).outTradeNo)
    if (order === undefined) throw new Errors.NotFound('No virtual-payment order with that outTradeNo')
    const { refunds, ...rest } = order
    return { ...rest, refunds: [...refunds.values()] }
  })
}
