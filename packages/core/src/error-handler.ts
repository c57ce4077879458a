import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Errors, publicError, type AppError } from './errors.js'

/** Turns Fastify's own errors (validation, body parsing) into catalogue errors. */
export function normalizeError (err: FastifyError | Error): unknown {
  const e = err as FastifyError & { validation?: unknown }
  if (e.validation !== undefined) return new Errors.ValidationFailed(e.message)
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return new Errors.PayloadTooLarge()
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return new Errors.UnsupportedMediaType()
    case 'FST_ERR_CTP_EMPTY_JSON_BODY': return new Errors.BadRequest('Body must not be empty when Content-Type is application/json')
    case 'FST_ERR_CTP_INVALID_JSON_BODY': return new Errors.BadRequest('Body is not valid JSON')
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH': return new Errors.BadRequest('Content-Length does not match the body')
  }
  if (err instanceof SyntaxError && (e.statusCode === 400)) return new Errors.BadRequest('Body is not valid JSON')
  if (typeof e.code === 'string' && e.code.startsWith('FST_') && typeof e.statusCode === 'number' && e.statusCode < 500) {
    return new Errors.BadRequest(e.message)
  }
  return err
}

export function sendError (request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const { statusCode, body, headers } = publicError(err)
  if (statusCode >= 500 && !(statusCode >= 502 && statusCode <= 504)) {
    request.log.error({ err }, 'request failed')
  } else if (statusCode >= 500) {
    request.log.warn({ code: body.code }, 'upstream failure')
  }
  body.traceId = request.trace?.traceId
  return reply.code(statusCode).headers(headers).type('application/json; charset=utf-8').send({ error: body })
}

/** Renders every error, including unknown routes, as the `{error: {code, message, traceId}}` envelope. */
export const errorEnvelope = fp(async function errorEnvelope (app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError, request, reply) => sendError(request, reply, normalizeError(err)))
  app.setNotFoundHandler((request, reply) => sendError(request, reply, new Errors.NotFound(`Route ${request.method} ${request.url.split('?')[0]?.slice(0, 200) ?? ''} not found`)))
}, { name: 'wxmp-error-envelope', fastify: '5.x' })

export type { AppError }
