import type { FastifyInstance } from 'fastify'
import { Subjects } from '@wxmp/contracts'
import { isAppError } from '@wxmp/core'
import { routeOf } from '../edge-routes.js'

/** The headers WeChat Pay signs a notification with; forwarded under these exact names. */
export const WECHATPAY_HEADERS = ['Wechatpay-Serial', 'Wechatpay-Signature', 'Wechatpay-Timestamp', 'Wechatpay-Nonce', 'Wechatpay-Signature-Type', 'Request-ID'] as const

/**
 * POST /v1/payments/wechat/notify: WeChat Pay's callback. The signature covers the exact body
 * bytes, so the body is never parsed here: the raw bytes and the Wechatpay-* headers go to
 * `payment.wechatNotify` untouched, and WeChat gets the answer it expects: 200 SUCCESS, or the
 * payment service's 4xx/5xx with `{code: "FAIL", message}` so that it retries.
 */
export default async function wechatNotifyRoutes (app: FastifyInstance): Promise<void> {
  // Encapsulated: only this route keeps the body as bytes, whatever its Content-Type.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })

  app.route({
    ...routeOf('POST /v1/payments/wechat/notify'),
    schema: {
      tags: ['payments'],
      summary: 'WeChat Pay notification callback (called by WeChat, not by the mini-program)',
      // additionalProperties: errors raised before the handler (a body over the limit) are the error envelope, which a
      // closed schema would serialize to `{}`.
      response: {
        200: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
        '4xx': { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, additionalProperties: true },
        '5xx': { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, additionalProperties: true }
      }
    },
    handler: async (request, reply) => {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
      if (body.length === 0) return await reply.code(400).send({ code: 'FAIL', message: 'Empty notification' })
      const headers: Record<string, string> = {}
      for (const name of WECHATPAY_HEADERS) {
        const v = request.headers[name.toLowerCase()]
        if (typeof v === 'string') headers[name] = v
      }
      try {
        await request.callService(Subjects.payment.wechatNotify, body, { raw: true, headers })
        return { code: 'SUCCESS', message: 'OK' }
      } catch (err) {
        const status = isAppError(err) && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
        const message = isAppError(err) && (status < 500 || status >= 502) ? err.message : 'Internal error'
        request.log.warn({ status, code: isAppError(err) ? err.code : undefined }, 'payment notification not accepted')
        return await reply.code(status).send({ code: 'FAIL', message })
      }
    }
  })
}
