import type { FastifyInstance } from 'fastify'
import type { WxError } from '../domain/mini-program.js'
import { answer, applyFaults, DATA_FORMAT_ERROR, jsonBody, wechatApiScope } from './wx-answer.js'

/**
 * The mini-program server APIs at WeChat's paths. Errors come back as WeChat sends them: HTTP 200 with
 * `{errcode, errmsg}`, the errmsg ending in a rid.
 */
export default async function miniProgramRoutes (app: FastifyInstance): Promise<void> {
  const { sim } = app
  const cfg = sim.config

  // WeChat reads the body as JSON whatever the Content-Type says.
  wechatApiScope(app)

  function credentials (appid: unknown, secret: unknown): WxError | undefined {
    if (typeof appid !== 'string' || appid === '') return { errcode: 41002, errmsg: 'appid missing' }
    if (appid !== cfg.WECHAT_APPID) return { errcode: 40013, errmsg: 'invalid appid' }
    if (typeof secret !== 'string' || secret === '') return { errcode: 41004, errmsg: 'appsecret missing' }
    if (secret !== cfg.WECHAT_SECRET) return { errcode: 40125, errmsg: 'invalid appsecret' }
    return undefined
  }

  app.get('/sns/jscode2session', async (request, reply) => {
    if (await applyFaults(sim, 'jscode2session', request, reply) === undefined) return reply
    const q = request.query as Record<string, string | undefined>
    const bad = credentials(q.appid, q.secret)
    if (bad !== undefined) return answer(reply, bad)
    if (q.grant_type !== 'authorization_code') return answer(reply, { errcode: 40002, errmsg: 'invalid grant_type' })
    if (q.js_code === undefined || q.js_code === '') return answer(reply, { errcode: 41008, errmsg: 'missing code' })
    const r = sim.mp.exchangeLoginCode(q.js_code)
    if ('error' in r) return answer(reply, r.error)
    // Since late 2020 a successful code2Session carries no errcode at all.
    return r.ok.unionid === undefined
      ? { session_key: r.ok.sessionKey, openid: r.ok.openid }
      : { session_key: r.ok.sessionKey, openid: r.ok.openid, unionid: r.ok.unionid }
  })

  app.post('/cgi-bin/stable_token', async (request, reply) => {
    if (await applyFaults(sim, 'stable_token', request, reply) === undefined) return reply
    const body = jsonBody(request)
    if (body === undefined) return answer(reply, DATA_FORMAT_ERROR)
    if (body.grant_type !== 'client_credential') return answer(reply, { errcode: 40002, errmsg: 'invalid grant_type' })
    const bad = credentials(body.appid, body.secret)
    if (bad !== undefined) return answer(reply, bad)
    if (body.force_refresh !== undefined && typeof body.force_refresh !== 'boolean') return answer(reply, DATA_FORMAT_ERROR)
    const r = sim.mp.stableToken(body.force_refresh === true)
    if ('error' in r) return answer(reply, r.error)
    if (r.ok.issued) sim.stats.stableTokensIssued++
    return { access_token: r.ok.token, expires_in: r.ok.expiresIn }
  })

  app.get('/cgi-bin/token', async (request, reply) => {
    if (await applyFaults(sim, 'token', request, reply) === undefined) return reply
    const q = request.query as Record<string, string | undefined>
    if (q.grant_type !== 'client_credential') return answer(reply, { errcode: 40002, errmsg: 'invalid grant_type' })
    const bad = credentials(q.appid, q.secret)
    if (bad !== undefined) return answer(reply, bad)
    const t = sim.mp.classicToken()
    return { access_token: t.token, expires_in: t.expiresIn }
  })

  app.post('/wxa/business/getuserphonenumber', async (request, reply) => {
    if (await applyFaults(sim, 'getuserphonenumber', request, reply) === undefined) return reply
    const tokenError = sim.mp.checkToken((request.query as Record<string, string | undefined>).access_token)
    if (tokenError !== undefined) return answer(reply, tokenError)
    const body = jsonBody(request)
    if (body === undefined || typeof body.code !== 'string' || body.code === '') return answer(reply, DATA_FORMAT_ERROR)
    const r = sim.mp.exchangePhoneCode(body.code)
    if ('error' in r) return answer(reply, r.error)
    return {
      errcode: 0,
      errmsg: 'ok',
      phone_info: { ...r.ok, watermark: { timestamp: Math.floor(Date.now() / 1000), appid: cfg.WECHAT_APPID } }
    }
  })

  app.get('/wxa/checksession', async (request, reply) => {
    if (await applyFaults(sim, 'checksession', request, reply) === undefined) return reply
    const q = request.query as Record<string, string | undefined>
    const tokenError = sim.mp.checkToken(q.access_token)
    if (tokenError !== undefined) return answer(reply, tokenError)
    if (q.sig_method !== 'hmac_sha256') return answer(reply, { errcode: 40097, errmsg: 'invalid args' })
    if (q.openid === undefined || q.openid === '' || q.signature === undefined) return answer(reply, { errcode: 40003, errmsg: 'invalid openid' })
    if (!sim.mp.checkSession(q.openid, q.signature)) return answer(reply, { errcode: 87009, errmsg: 'invalid signature' })
    return { errcode: 0, errmsg: 'ok' }
  })
}
