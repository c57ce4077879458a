import { randomBytes } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'

// These requests never reach the router's hooks, so no trace was started: the envelope gets a trace id of its own.
function envelope (code: string, message: string): string {
  return JSON.stringify({ error: { code, message, traceId: randomBytes(16).toString('hex') } })
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (CR, LF or NUL in a header, obsolete line folding,
 * oversized headers, an unknown method, Transfer-Encoding beside Content-Length) are answered with the error
 * envelope like every other error, not Fastify's default `{"error":"Bad Request","message":"Client Error"}`.
 */
export function clientErrorHandler (err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const [status, code, message] = err.code === 'HPE_HEADER_OVERFLOW'
    ? [431, 'HEADERS_TOO_LARGE', 'The request headers are too large']
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'REQUEST_TIMEOUT', 'The request did not arrive in time']
      : [400, 'BAD_REQUEST', 'Malformed HTTP request']
  const body = envelope(code, message)
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy(err)
}

/** URLs the router refuses before any hook (a path parameter over maxParamLength, a malformed escape) get the envelope too. */
export function frameworkErrors (err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode === 414 ? 414 : 400
  void reply.code(status).type('application/json; charset=utf-8')
    .send(envelope(status === 414 ? 'URI_TOO_LONG' : 'BAD_REQUEST', status === 414 ? 'A part of the URL is too long' : 'Malformed URL'))
}
