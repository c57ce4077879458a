import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Effects, Endpoint } from '../domain/faults.js'
import { newRid } from '../domain/ids.js'
import type { WxError } from '../domain/mini-program.js'
import type { SimContext } from '../sim-context.js'

/** A mini-program server API error as WeChat writes it: errcode, and errmsg with a request id appended. */
export function answer (reply: FastifyReply, e: WxError): FastifyReply {
  return reply.send({ errcode: e.errcode, errmsg: `${e.errmsg} rid: ${newRid()}` })
}

/** The JSON object of a POST body that WeChat's APIs read as text; anything else is undefined. */
export function jsonBody (request: FastifyRequest): Record<string, unknown> | undefined {
  if (typeof request.body !== 'string') return undefined
  try {
    const v: unknown = JSON.parse(request.body)
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

/** WeChat's answer to a body that is not the JSON object an API takes. */
export const DATA_FORMAT_ERROR: WxError = { errcode: 47001, errmsg: 'data format error' }

/**
 * The scope of WeChat's server APIs: the body is read as text whatever the Content-Type says (the handlers parse it as
 * WeChat does), and an unexpected failure is answered as WeChat answers one: HTTP 200 with errcode -1.
 */
export function wechatApiScope (app: FastifyInstance): void {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => { done(null, body) })
  app.setErrorHandler(async (err, request, reply) => {
    request.log.warn({ err: { message: (err as Error).message } }, 'simulated wechat api failed')
    return answer(reply.code(200), { errcode: -1, errmsg: 'system error' })
  })
}

/**
 * Counts the call and applies the injected faults that come before the work: latency, a hang-up, an error answer
 * (an errcode, or an HTTP status with an HTML page, as WeChat's front ends send). Returns the call's effects (a
 * `lostAnswer` is the caller's to apply after the work), or undefined when a fault has already answered.
 */
export async function applyFaults (sim: SimContext, endpoint: Endpoint, request: FastifyRequest, reply: FastifyReply): Promise<Effects | undefined> {
  sim.stats.count(endpoint)
  const effects = sim.faults.take(endpoint)
  if (effects.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, effects.latencyMs))
  if (effects.hangup) {
    reply.hijack()
    request.raw.socket.destroy()
    return undefined
  }
  const f = effects.error
  if (f === undefined) return effects
  if (f.errcode !== undefined) await answer(reply, { errcode: f.errcode, errmsg: f.errmsg ?? 'injected error' })
  else await reply.code(f.status ?? 500).type('text/html').send(`<html><body><h1>${f.status ?? 500}</h1></body></html>`)
  return undefined
}
