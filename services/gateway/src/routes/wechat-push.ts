import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Contracts, WECHAT_PUSH_METHOD_HEADER, WECHAT_PUSH_QUERY_HEADER } from '@wxmp/contracts'
import { isAppError } from '@wxmp/core'
import { routeOf } from '../edge-routes.js'

/**
 * GET and POST /v1/wechat/push: the mini-program's message push (消息推送), called by WeChat. The signatures cover
 * the query string and the exact body bytes, so neither is parsed here: both go to `auth.wechatPush` (the owner of
 * the push Token and EncodingAESKey) untouched, and WeChat gets auth's plain-text answer (`echostr` to a URL check,
 * `success` to a push), or auth's 4xx for a push that fails verification, so nothing unverified is acknowledged.
 */
export default async function wechatPushRoutes (app: FastifyInstance): Promise<void> {
  // Encapsulated: only these routes keep the body as bytes, whatever its Content-Type.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })

  const forward = async (request: FastifyRequest, reply: FastifyReply): Promise<string> => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
    const i = request.url.indexOf('?')
    const headers = { [WECHAT_PUSH_QUERY_HEADER]: i < 0 ? '' : request.url.slice(i + 1), [WECHAT_PUSH_METHOD_HEADER]: request.method === 'GET' || request.method === 'HEAD' ? 'GET' : 'POST' }
    reply.type('text/plain; charset=utf-8')
    try {
      const { data } = await request.callService(Contracts.auth.wechatPush, body, { headers })
      if (data.contentType !== undefined) reply.type(data.contentType)
      return data.body
    } catch (err) {
      const status = isAppError(err) && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
      request.log.warn({ status, code: isAppError(err) ? err.code : undefined }, 'message push not accepted')
      reply.code(status)
      return status < 500 && isAppError(err) ? err.code : 'error'
    }
  }

  const schema = {
    tags: ['wechat'],
    // The keys WeChat adds; kept open (and forwarded as the raw query string), as WeChat may add more.
    querystring: {
      type: 'object',
      properties: {
        signature: { type: 'string' },
        timestamp: { type: 'string' },
        nonce: { type: 'string' },
        echostr: { type: 'string' },
        openid: { type: 'string' },
        encrypt_type: { type: 'string' },
        msg_signature: { type: 'string' }
      }
    }
  }
  app.route({ ...routeOf('GET /v1/wechat/push'), schema: { ...schema, summary: 'WeChat message push URL verification (called by WeChat): answers echostr' }, handler: forward })
  app.route({ ...routeOf('POST /v1/wechat/push'), schema: { ...schema, summary: 'WeChat message push (called by WeChat, not by the mini-program): answers success' }, handler: forward })
}
