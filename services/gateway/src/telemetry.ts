import { SpanKind, SpanStatusCode, trace, type Context, type TextMapPropagator, type Tracer } from '@opentelemetry/api'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import { BatchSpanProcessor, RandomIdGenerator, type IdGenerator } from '@opentelemetry/sdk-trace-base'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { FastifyOtelInstrumentation } from '@fastify/otel'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { formatTraceparent, isAppError, type TraceContext } from '@wxmp/core'

/**
 * The request whose span @fastify/otel is starting right now. Set by a synchronous onRequest hook
 * that runs immediately before the instrumentation's own, and cleared when it returns, so the
 * span gets the trace and span id the logs and NATS headers already carry (request.trace).
 */
let starting: TraceContext | undefined
let spanIdTaken = false

class RequestIds implements IdGenerator {
  private readonly random = new RandomIdGenerator()
  generateTraceId (): string { return starting?.traceId ?? this.random.generateTraceId() }
  // Only the first span started in the window is the request's own.
  generateSpanId (): string {
    if (starting === undefined || spanIdTaken) return this.random.generateSpanId()
    spanIdTaken = true
    return starting.spanId
  }
}

/** Extracts the parent from request.trace, which already applied the W3C rules (an invalid traceparent starts a new trace). */
const requestPropagator: TextMapPropagator = {
  inject () { /* NATS headers are written from request.trace by @wxmp/nats */ },
  extract (ctx: Context): Context {
    const s = starting
    if (s?.parentSpanId === undefined) return ctx
    return trace.setSpanContext(ctx, { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: Number.parseInt(s.traceFlags, 16) & 1, isRemote: true })
  },
  fields: () => ['traceparent', 'tracestate']
}

export interface Tracing {
  /** Registers the HTTP instrumentation; call before any route is added. */
  register: (app: FastifyInstance) => Promise<void>
  /** Runs a NATS request inside a client span whose id is the parent the service sees. */
  natsSpan: <T>(request: FastifyRequest, subject: string, fn: (trace: TraceContext, headers: Record<string, string>) => Promise<T>) => Promise<T>
  shutdown: () => Promise<void>
}

/** OpenTelemetry tracing exported over OTLP/HTTP, or undefined (and no cost at all) without an endpoint. */
export function createTracing (opts: { endpoint: string, serviceName: string, serviceVersion: string }): Tracing | undefined {
  if (opts.endpoint === '') return undefined
  const exporter = new OTLPTraceExporter({ url: `${opts.endpoint.replace(/\/$/, '')}/v1/traces` })
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName, 'service.version': opts.serviceVersion }),
    idGenerator: new RequestIds(),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 })]
  })
  provider.register({ propagator: requestPropagator })
  const tracer: Tracer = provider.getTracer('@wxmp/gateway')
  // Hook spans would triple the span count for little insight; the request, handler and NATS spans tell the story.
  const instrumentation = new FastifyOtelInstrumentation({ instrumentHooks: false })
  instrumentation.setTracerProvider(provider)

  return {
    async register (app) {
      app.addHook('onRequest', (request, _reply, done) => {
        starting = request.trace
        spanIdTaken = false
        done()
        starting = undefined
      })
      await app.register(instrumentation.plugin())
    },
    async natsSpan (request, subject, fn) {
      const parent = (request as unknown as { opentelemetry: () => { context?: Context } }).opentelemetry().context
      const span = tracer.startSpan(`nats ${subject}`, {
        kind: SpanKind.CLIENT,
        attributes: { 'messaging.system': 'nats', 'messaging.destination.name': subject, 'messaging.operation.type': 'send' }
      }, parent)
      const ctx: TraceContext = { ...request.trace, parentSpanId: request.trace.spanId, spanId: span.spanContext().spanId }
      try {
        return await fn(ctx, { traceparent: formatTraceparent(ctx) })
      } catch (err) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: isAppError(err) ? err.code : 'error' })
        throw err
      } finally {
        span.end()
      }
    },
    async shutdown () { await provider.shutdown() }
  }
}
