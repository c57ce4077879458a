import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node'
import { childContext, contextFromHeaders, formatTraceparent, type TraceContext } from '@wxmp/core'

export const H = {
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  requestId: 'x-request-id',
  userId: 'x-user-id',
  sessionId: 'x-session-id',
  role: 'x-user-role',
  authTime: 'x-auth-time',
  amr: 'x-auth-amr'
} as const

const ROLES = new Set(['buyer', 'staff', 'admin'])
const AMR = /^[a-z]{2,16}(,[a-z]{2,16}){0,7}$/

const USER_ID = /^[A-Za-z0-9_-]{1,64}$/

/** Headers for a message sent on behalf of ctx: a child span of the caller, plus request and user identity. */
export function outgoingHeaders (ctx: TraceContext | undefined): { headers: MsgHdrs, span?: TraceContext } {
  const h = natsHeaders()
  if (ctx === undefined) return { headers: h }
  const span = childContext(ctx)
  // append, not set: the headers are new, and set() first searches them for the name to replace.
  h.append(H.traceparent, formatTraceparent(span))
  if (span.tracestate !== undefined) h.append(H.tracestate, span.tracestate)
  h.append(H.requestId, span.requestId)
  if (span.userId !== undefined) h.append(H.userId, span.userId)
  if (span.sessionId !== undefined) h.append(H.sessionId, span.sessionId)
  if (span.role !== undefined) h.append(H.role, span.role)
  if (span.authTime !== undefined) h.append(H.authTime, String(span.authTime))
  if (span.amr !== undefined && span.amr.length > 0) h.append(H.amr, span.amr.join(','))
  return { headers: h, span }
}

/** The handler's context: continues the caller's trace, and carries the user the gateway verified. */
export function incomingContext (h: MsgHdrs | undefined): TraceContext {
  // One pass over the headers: each get() of the client copies and filters the whole key list.
  const values = new Map<string, string>()
  if (h !== undefined) {
    for (const [name, v] of h) {
      const first = v[0]
      if (first !== undefined && first !== '' && !values.has(name)) values.set(name, first)
    }
  }
  const get = (name: string): string | undefined => values.get(name)
  const ctx = contextFromHeaders(get)
  const userId = get(H.userId)
  const sessionId = get(H.sessionId)
  if (userId !== undefined && USER_ID.test(userId)) ctx.userId = userId
  if (sessionId !== undefined && USER_ID.test(sessionId)) ctx.sessionId = sessionId
  const role = get(H.role)
  if (role !== undefined && ROLES.has(role)) ctx.role = role
  const authTime = Number(get(H.authTime))
  if (Number.isSafeInteger(authTime) && authTime > 0) ctx.authTime = authTime
  const amr = get(H.amr)
  if (amr !== undefined && AMR.test(amr)) ctx.amr = amr.split(',')
  return ctx
}

const enc = new TextEncoder()
const dec = new TextDecoder('utf-8', { fatal: true })

export function encodeJson (value: unknown): Uint8Array {
  return enc.encode(JSON.stringify(value ?? null))
}

/** Decodes a JSON payload; throws SyntaxError/TypeError on bad UTF-8 or JSON. */
export function decodeJson (data: Uint8Array): unknown {
  if (data.length === 0) return undefined
  return JSON.parse(dec.decode(data))
}
