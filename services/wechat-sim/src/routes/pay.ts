import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Endpoint } from '../domain/faults.js'
import { newRequestId } from '../domain/ids.js'
import { PayState } from '../domain/pay.js'
import { verifyMerchantRequest, wechatpayHeaders, type PayError } from '../domain/signing.js'

// Default status and message of error codes a fault may name without them.
const CODES: Record<string, [number, string]> = {
  SYSTEM_ERROR: [500, '系统错误'],
  BANK_ERROR: [500, '银行系统异常'],
  PARAM_ERROR: [400, '参数错误'],
  INVALID_REQUEST: [400, '无效请求'],
  APPID_MCHID_NOT_MATCH: [400, 'appid和mch_id不匹配'],
  MCH_NOT_EXISTS: [400, '商户号不存在'],
  ORDER_CLOSED: [400, '订单已关闭'],
  ORDERPAID: [400, '订单已支付'],
  SIGN_ERROR: [401, '签名错误'],
  NO_AUTH: [403, '商户无权限'],
  OUT_TRADE_NO_USED: [403, '商户订单号重复'],
  NOT_ENOUGH: [403, '基本账户余额不足，请充值后重新发起'],
  TRADE_ERROR: [403, '交易错误'],
  RULE_LIMIT: [403, '业务规则限制'],
  USER_ACCOUNT_ABNORMAL: [403, '退款请求失败'],
  ORDER_NOT_EXIST: [404, '订单不存在'],
  RESOURCE_NOT_EXISTS: [404, '订单不存在'],
  FREQUENCY_LIMITED: [429, '频率超限']
}

const kSign = Symbol('wxmp.sim.sign')
type SignedRequest = FastifyRequest & { [kSign]?: 'valid' | 'probe' }

function payError (reply: FastifyReply, e: PayError): FastifyReply {
  const body: Record<string, unknown> = { code: e.code, message: e.message }
  if (e.detail !== undefined) body.detail = e.detail
  return reply.code(e.status).send(body)
}

function bodyOf (request: FastifyRequest): string {
  return typeof request.body === 'string' ? request.body : ''
}

/**
 * WeChat Pay API v3 for one direct merchant. Every request must carry a valid merchant signature; every answer
 * to a request that passed it (errors included) is signed by the simulator's WeChat Pay key.
 */
export default async function payRoutes (app: FastifyInstance): Promise<void> {
  const { sim } = app

  // The signature covers the exact body bytes, so the body is kept as received and parsed afterwards.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => { done(null, body) })
  app.setErrorHandler(async (err, request, reply) => {
    request.log.warn({ err: { message: (err as Error).message } }, 'simulated wechatpay api failed')
    return payError(reply, { status: 500, code: 'SYSTEM_ERROR', message: '系统繁忙，请稍后重试' })
  })
  app.addHook('onSend', async (request: SignedRequest, reply, payload) => {
    reply.header('request-id', newRequestId())
    const mode = request[kSign]
    if (mode === undefined) return payload
    const text = typeof payload === 'string' ? payload : payload === null || payload === undefined ? '' : String(payload)
    reply.headers(wechatpayHeaders(sim.keys, text, { probe: mode === 'probe' }))
    return payload
  })

  /**
   * The gate in front of every Pay endpoint: count the call, apply faults, verify the merchant's signature,
   * parse the body. Returns the parsed body, or undefined when the request was already answered.
   */
  async function gate (endpoint: Endpoint, request: SignedRequest, reply: FastifyReply): Promise<Record<string, unknown> | undefined> {
    sim.stats.count(endpoint)
    const effects = sim.faults.take(endpoint)
    if (effects.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, effects.latencyMs))
    const raw = bodyOf(request)
    const auth = request.headers.authorization
    const signError = verifyMerchantRequest(sim.keys, sim.config.SIM_SIGNATURE_WINDOW_SECONDS, request.method, request.raw.url ?? '', raw, auth)
    const f = effects.error
    const nonce = /nonce_str="([^"]*)"/.exec(auth ?? '')?.[1]
    sim.stats.payCall({
      endpoint,
      bodySha256: createHash('sha256').update(raw).digest('hex'),
      ...(nonce === undefined ? {} : { nonce }),
      status: signError?.status ?? (f?.code !== undefined ? (f.status ?? CODES[f.code]?.[0] ?? 400) : f?.status ?? 200)
    })
    if (endpoint === 'jsapi') {
      const outTradeNo = /"out_trade_no"\s*:\s*"([^"]*)"/.exec(raw)?.[1]
      if (outTradeNo !== undefined) sim.stats.prepay[outTradeNo] = (sim.stats.prepay[outTradeNo] ?? 0) + 1
    }
    if (effects.hangup) {
      reply.hijack()
      request.raw.socket.destroy()
      return undefined
    }
    // WeChat Pay does not sign its answer to a request it could not authenticate.
    if (signError !== undefined) { await payError(reply, signError); return undefined }
    if (!effects.unsigned) request[kSign] = effects.badSignature ? 'probe' : 'valid'
    if (f !== undefined) {
      const code = f.code ?? 'SYSTEM_ERROR'
      await payError(reply, { status: f.status ?? CODES[code]?.[0] ?? 400, code, message: f.message ?? CODES[code]?.[1] ?? '注入的错误' })
      return undefined
    }
    if (request.method === 'GET') return {}
    try {
      const parsed: unknown = JSON.parse(raw)
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>
    } catch {}
    await payError(reply, { status: 400, code: 'PARAM_ERROR', message: '请求体格式错误，应为JSON对象' })
    return undefined
  }

  const checkMchid = (mchid: unknown): PayError | undefined =>
    mchid === sim.config.WECHATPAY_MCHID ? undefined : { status: 400, code: 'PARAM_ERROR', message: '直连商户号与请求者不一致', detail: { field: 'mchid' } }

  app.post('/v3/pay/transactions/jsapi', async (request, reply) => {
    const body = await gate('jsapi', request, reply)
    if (body === undefined) return reply
    const r = sim.pay.prepay(body)
    if ('error' in r) return payError(reply, r.error)
    return { prepay_id: r.ok.prepayId }
  })

  app.get('/v3/pay/transactions/out-trade-no/:outTradeNo', async (request, reply) => {
    const body = await gate('query', request, reply)
    if (body === undefined) return reply
    const bad = checkMchid((request.query as Record<string, unknown>).mchid)
    if (bad !== undefined) return payError(reply, bad)
    const r = sim.pay.query((request.params as { outTradeNo: string }).outTradeNo)
    if ('error' in r) return payError(reply, r.error)
    return PayState.transaction(r.ok)
  })

  app.post('/v3/pay/transactions/out-trade-no/:outTradeNo/close', async (request, reply) => {
    const body = await gate('close', request, reply)
    if (body === undefined) return reply
    const bad = checkMchid(body.mchid)
    if (bad !== undefined) return payError(reply, bad)
    const r = sim.pay.close((request.params as { outTradeNo: string }).outTradeNo)
    if ('error' in r) return payError(reply, r.error)
    return reply.code(204).send()
  })

  app.post('/v3/refund/domestic/refunds', async (request, reply) => {
    const body = await gate('refund', request, reply)
    if (body === undefined) return reply
    const r = sim.pay.refund(body, sim.config.SIM_REFUND_NOTIFY_URL)
    if ('error' in r) return payError(reply, r.error)
    if (r.ok.created && sim.config.SIM_REFUND_SETTLE_MS >= 0) {
      const outRefundNo = r.ok.refund.outRefundNo
      sim.later(sim.config.SIM_REFUND_SETTLE_MS, () => { sim.settleRefund(outRefundNo, 'SUCCESS') })
    }
    return PayState.refundBody(r.ok.refund)
  })

  app.get('/v3/refund/domestic/refunds/:outRefundNo', async (request, reply) => {
    const body = await gate('query_refund', request, reply)
    if (body === undefined) return reply
    const refund = sim.pay.refunds.get((request.params as { outRefundNo: string }).outRefundNo)
    if (refund === undefined) return payError(reply, { status: 404, code: 'RESOURCE_NOT_EXISTS', message: '退款单不存在' })
    return PayState.refundBody(refund)
  })
}
