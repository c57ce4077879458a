import { Svcm, type Service, type ServiceMsg } from '@nats-io/services'
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node'
import type { Static, TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import type { ReplyOf, RequestContract, RequestOf } from '@wxmp/contracts'
import { Errors, formatTraceparent, isAppError, logBindings, natsHandleDuration, natsHandled, publicError, type Log, type TraceContext } from '@wxmp/core'
import { H, decodeJson, encodeJson, incomingContext } from './codec.js'

/** What a handler gets besides its validated input. */
export interface HandlerContext {
  trace: TraceContext
  log: Log
  /** Raw request headers, for endpoints that need more than the trace (notification signatures). */
  headers: ServiceMsg['headers']
  /** The raw request bytes, for endpoints that verify signatures over them. */
  raw: Uint8Array
}

export interface EndpointDefinition<I extends TSchema = TSchema, O = unknown> {
  /** Subject without the deployment prefix, `<domain>.<verb>`. */
  subject: string
  /** Schema the JSON payload must match; a mismatch answers 400 VALIDATION_FAILED. Omit for raw endpoints. */
  input?: I
  /** The handler gets the request bytes untouched as its input (they are also in ctx.raw). */
  raw?: boolean
  handler: (input: Static<I>, ctx: HandlerContext) => Promise<O>
}

/**
 * The endpoint of a contract: the request is validated against its request schema (a raw contract's bytes are
 * passed as they came) and the handler must answer with its reply type.
 */
export function endpoint<C extends RequestContract> (contract: C, handler: (input: RequestOf<C>, ctx: HandlerContext) => Promise<ReplyOf<C>>): EndpointDefinition<C['request'], ReplyOf<C>>
/** An endpoint declared by hand, for subjects outside the contracts (tests, stand-ins). */
export function endpoint<I extends TSchema, O> (def: EndpointDefinition<I, O>): EndpointDefinition<I, O>
export function endpoint (def: RequestContract | EndpointDefinition<any, any>, handler?: EndpointDefinition<any, any>['handler']): EndpointDefinition<any, any> {
  if (!('request' in def)) return def
  if (handler === undefined) throw new TypeError(`endpoint ${def.subject} has no handler`)
  return def.raw === true ? { subject: def.subject, raw: true, handler } : { subject: def.subject, input: def.request, handler }
}

function validationMessage (check: TypeCheck<TSchema>, value: unknown): string {
  const first = check.Errors(value).First()
  if (first === undefined) return 'Invalid payload'
  return `${first.path === '' ? 'body' : first.path.slice(1).replace(/\//g, '.')}: ${first.message}`
}

/**
 * A NATS micro service: each endpoint listens in a queue group (replicas share the load), gets
 * `$SRV.PING/INFO/STATS` for free, validates its input, continues the caller's trace and logs one
 * line per message. Errors reply with `Nats-Service-Error-Code` = the HTTP status and the envelope body.
 */
export class NatsService {
  private service?: Service
  private readonly inFlight = new Set<Promise<void>>()

  constructor (
    private readonly nc: NatsConnection,
    private readonly opts: { name: string, version: string, prefix: string, log: Log }
  ) {}

  async start (endpoints: Array<EndpointDefinition<any, any>>): Promise<void> {
    const svcm = new Svcm(this.nc)
    this.service = await svcm.add({ name: this.opts.name, version: this.opts.version, queue: `${this.opts.prefix.replace(/\./g, '_')}${this.opts.name}` })
    for (const def of endpoints) {
      const check = def.input === undefined ? undefined : TypeCompiler.Compile(def.input)
      const name = def.subject.replace(/\./g, '_')
      this.service.addEndpoint(name, {
        subject: this.opts.prefix + def.subject,
        handler: (err, msg) => {
          if (err !== null) { this.opts.log.error({ err }, 'nats endpoint stopped'); return }
          const p = this.handle(def, check, msg).finally(() => this.inFlight.delete(p))
          this.inFlight.add(p)
        }
      })
    }
    // The server has the subscriptions once flush returns: a request sent right after ready() finds a responder.
    await this.nc.flush()
  }

  private async handle (def: EndpointDefinition<any, any>, check: TypeCheck<TSchema> | undefined, msg: ServiceMsg): Promise<void> {
    const started = performance.now()
    const trace = incomingContext(msg.headers)
    const log = this.opts.log.child(logBindings(trace))
    const replyHeaders = (): ReturnType<typeof natsHeaders> => {
      const h = natsHeaders()
      h.append(H.traceparent, formatTraceparent(trace))
      h.append(H.requestId, trace.requestId)
      return h
    }
    let status = 200
    let code: string | undefined
    try {
      let input: unknown = def.raw === true ? msg.data : undefined
      if (check !== undefined) {
        try { input = decodeJson(msg.data) } catch { throw new Errors.BadRequest('Payload is not valid JSON') }
        if (!check.Check(input)) throw new Errors.ValidationFailed(validationMessage(check, input))
      }
      const output = await def.handler(input, { trace, log, headers: msg.headers, raw: msg.data })
      msg.respond(encodeJson(output), { headers: replyHeaders() })
    } catch (err) {
      const pub = publicError(err)
      status = pub.statusCode
      code = pub.body.code
      if (!isAppError(err) || status === 500) log.error({ err, subject: def.subject }, 'handler failed')
      const error: Record<string, unknown> = { ...pub.body }
      if (Object.keys(pub.headers).length > 0) error.headers = pub.headers
      msg.respondError(status, pub.body.message, encodeJson({ error }), { headers: replyHeaders() })
    } finally {
      const level = status >= 500 ? 'error' : 'info'
      const ms = performance.now() - started
      log[level]({ subject: def.subject, status, errorCode: code, durationMs: Math.round(ms * 100) / 100 }, 'message handled')
      natsHandled.inc({ subject: def.subject, status: String(status) })
      natsHandleDuration.observe({ subject: def.subject, status: String(status) }, ms / 1000)
    }
  }

  /** Stops taking new messages and waits for the ones being handled. */
  async stop (): Promise<void> {
    if (this.service !== undefined && !this.service.isStopped) await this.service.stop()
    await Promise.allSettled([...this.inFlight])
  }
}
