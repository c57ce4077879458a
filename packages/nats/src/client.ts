import { errors as natsErrors, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node'
import type { ReplyOf, RequestContract, RequestOf } from '@wxmp/contracts'
import { Errors, RemoteError, natsCallDuration, natsCalls, type TraceContext } from '@wxmp/core'
import { decodeJson, encodeJson, outgoingHeaders } from './codec.js'
import { NoReplyError, Replies } from './replies.js'

export interface RequestOptions {
  /** Milliseconds before the call fails with 504 UPSTREAM_TIMEOUT. */
  timeoutMs?: number
  /** Extra headers, for example the raw Wechatpay-* headers of a notification. */
  headers?: Record<string, string>
  /** Send these bytes as they are instead of JSON-encoding the payload. */
  raw?: boolean
}

export interface Reply<T> {
  data: T
  headers: MsgHdrs | undefined
}

const SERVICE_ERROR_CODE = 'Nats-Service-Error-Code'

const utf8 = new TextEncoder()

/** The bytes of a raw payload: bytes go as they are, text as UTF-8. */
function rawBytes (payload: unknown): Uint8Array {
  if (payload instanceof Uint8Array) return payload
  if (typeof payload === 'string') return utf8.encode(payload)
  throw new TypeError('A raw payload is bytes or a string')
}

/** Rebuilds the error a service replied with, keeping its catalogue code and HTTP status. */
export function replyError (status: string, description: string, data: Uint8Array): RemoteError {
  const statusCode = Number.parseInt(status, 10)
  let code = statusCode >= 500 ? Errors.Internal.code : Errors.BadRequest.code
  let message = description
  let details: unknown
  let headers: Record<string, string> | undefined
  try {
    const body = decodeJson(data) as { error?: { code?: string, message?: string, details?: unknown, headers?: Record<string, string> } } | undefined
    if (typeof body?.error?.code === 'string') code = body.error.code
    if (typeof body?.error?.message === 'string') message = body.error.message
    details = body?.error?.details
    headers = body?.error?.headers
  } catch { /* a non-JSON error body keeps the header's description */ }
  return new RemoteError(code, message, Number.isInteger(statusCode) && statusCode >= 400 && statusCode < 600 ? statusCode : 500, details, headers)
}

/**
 * Request/reply to another service. Trace and user headers go out with the request; the failure
 * modes stay distinct: nobody listening -> 503, no answer in time -> 504, the service's own error -> its code.
 */
export class NatsClient {
  private readonly replies: Replies

  constructor (
    nc: NatsConnection,
    private readonly prefix: string,
    private readonly defaultTimeoutMs: number
  ) {
    this.replies = new Replies(nc)
  }

  /** The full subject on the wire, with this deployment's prefix. */
  subject (name: string): string {
    return this.prefix + name
  }

  /**
   * Calls the endpoint of a contract: the payload must match its request schema and the reply has the type of its
   * reply schema. A raw contract sends the payload bytes untouched.
   */
  async request<C extends RequestContract>(contract: C, payload: RequestOf<C>, ctx: TraceContext | undefined, opts?: RequestOptions): Promise<Reply<ReplyOf<C>>>
  /** By subject name, for callers that forward whatever a subject takes (tests, generic routes): the reply is untyped. */
  async request<T = unknown>(subject: string, payload: unknown, ctx: TraceContext | undefined, opts?: RequestOptions): Promise<Reply<T>>
  async request (target: string | RequestContract, payload: unknown, ctx: TraceContext | undefined, opts: RequestOptions = {}): Promise<Reply<unknown>> {
    const subject = typeof target === 'string' ? target : target.subject
    const options = typeof target !== 'string' && target.raw === true ? { ...opts, raw: true } : opts
    const started = performance.now()
    let outcome = 'ok'
    try {
      return await this.send(subject, payload, ctx, options)
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode
      outcome = status === 503 ? 'unavailable' : status === 504 ? 'timeout' : status !== undefined && status < 500 ? 'client_error' : 'server_error'
      throw err
    } finally {
      natsCalls.inc({ subject, outcome })
      natsCallDuration.observe({ subject, outcome }, (performance.now() - started) / 1000)
    }
  }

  private async send (subject: string, payload: unknown, ctx: TraceContext | undefined, opts: RequestOptions): Promise<Reply<unknown>> {
    const { headers } = outgoingHeaders(ctx)
    for (const [k, v] of Object.entries(opts.headers ?? {})) headers.set(k, v)
    const data = opts.raw === true ? rawBytes(payload) : encodeJson(payload)
    const service = subject.split('.')[0] ?? subject
    let msg
    try {
      msg = await this.replies.request(this.subject(subject), data, opts.timeoutMs ?? this.defaultTimeoutMs, headers)
    } catch (err) {
      if (err instanceof NoReplyError && err.why === 'no-responders') throw new Errors.ServiceUnavailable(service)
      if (err instanceof NoReplyError && err.why === 'timeout') throw new Errors.UpstreamTimeout(service)
      if (err instanceof NoReplyError || err instanceof natsErrors.ClosedConnectionError || err instanceof natsErrors.DrainingConnectionError) {
        throw new Errors.ServiceUnavailable('messaging')
      }
      throw err
    }
    const status = msg.headers?.get(SERVICE_ERROR_CODE)
    if (status !== undefined && status !== '') {
      throw replyError(status, msg.headers?.get('Nats-Service-Error') ?? 'Service error', msg.data)
    }
    try {
      return { data: decodeJson(msg.data), headers: msg.headers }
    } catch {
      throw new Errors.BadGateway(`${service} sent an unreadable reply`)
    }
  }
}
