import { LogController, type FastifyInstance, type FastifyServerOptions, type FastifyBaseLogger, type FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { IncomingMessage } from 'node:http'
import { contextFromHeaders, formatTraceparent, logBindings, type TraceContext } from './trace-context.js'
import { httpDuration, httpRequests } from './metrics.js'

const kTrace = Symbol('wxmp.trace')
type RawWithTrace = IncomingMessage & { [kTrace]?: TraceContext }

declare module 'fastify' {
  interface FastifyRequest {
    /** The trace this request belongs to: continued from a valid incoming traceparent or newly started. */
    trace: TraceContext
  }
}

function headerValue (raw: IncomingMessage, name: string): string | undefined {
  const v = raw.headers[name]
  return Array.isArray(v) ? v[0] : v
}

function traceOf (raw: RawWithTrace): TraceContext {
  let ctx = raw[kTrace]
  if (ctx === undefined) {
    ctx = contextFromHeaders((name) => headerValue(raw, name))
    raw[kTrace] = ctx
  }
  return ctx
}

/**
 * Fastify server options that give every request a trace context before its first log line,
 * so `trace_id`, `span_id` and `request_id` are on every line a request writes.
 */
export function tracingServerOptions (): Pick<FastifyServerOptions, 'genReqId' | 'logController' | 'childLoggerFactory'> {
  return {
    genReqId: (raw) => traceOf(raw as RawWithTrace).requestId,
    // One line per request, written by requestContext once the status is known.
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    childLoggerFactory (logger: FastifyBaseLogger, bindings, opts, raw) {
      const { request_id: _ignored, ...rest } = bindings as Record<string, unknown>
      return logger.child({ ...rest, ...logBindings(traceOf(raw as RawWithTrace)) }, opts)
    }
  }
}

/** Decorates request.trace, echoes traceparent and x-request-id on every response, and logs one line per request. */
export const requestContext = fp(async function requestContext (app: FastifyInstance) {
  app.decorateRequest('trace', null as unknown as TraceContext)
  app.addHook('onRequest', async (request: FastifyRequest, reply) => {
    request.trace = traceOf(request.raw as RawWithTrace)
    reply.header('traceparent', formatTraceparent(request.trace))
    reply.header('x-request-id', request.trace.requestId)
    if (request.trace.tracestate !== undefined) reply.header('tracestate', request.trace.tracestate)
  })
  app.addHook('onResponse', async (request, reply) => {
    const level = reply.statusCode >= 500 ? 'error' : 'info'
    request.log[level]({
      method: request.method,
      url: request.routeOptions.url ?? request.url.split('?')[0],
      statusCode: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 100) / 100
    }, 'request completed')
    // Route patterns only: a raw URL would make one series per id.
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) }
    httpRequests.inc(labels)
    httpDuration.observe(labels, reply.elapsedTime / 1000)
  })
}, { name: 'wxmp-request-context', fastify: '5.x' })
