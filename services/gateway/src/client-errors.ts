import { randomBytes } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { Errors, type AppError } from '@wxmp/core'
import { GatewayErrors } from './errors.js'

// These requests never reach the router's hooks, so no trace was started: the envelope gets a trace id of its own.
function envelope (err: AppError): string {
  return JSON.stringify({ error: { code: err.code, message: err.message, traceId: randomBytes(16).toString('hex') } })
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (CR, LF or NUL in a header, obsolete line folding,
 * oversized headers, an unknown method, Transfer-Encoding beside Content-Length) are answered with the error
 * envelope like every other error, not Fastify's default `{"error":"Bad Request","message":"Client Error"}`.
 */
export function clientErrorHandler (err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const refused = err.code === 'HPE_HEADER_OVERFLOW'
    ? new GatewayErrors.HeadersTooLarge()
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new GatewayErrors.RequestTimeout()
      : new Errors.BadRequest('Malformed HTTP request')
  const status = refused.statusCode
  const body = envelope(refused)
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy(err)
}

/** URLs the router refuses before any hook (a path parameter over maxParamLength, a malformed escape) get the envelope too. */
export function frameworkErrors (err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const refused = err.statusCode === 414 ? new GatewayErrors.UriTooLong() : new Errors.BadRequest('Malformed URL')
  void reply.code(refused.statusCode).type('application/json; charset=utf-8').send(envelope(refused))
}
