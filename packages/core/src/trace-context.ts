import { randomFillSync, randomUUID } from 'node:crypto'

/** What one unit of work knows about the request it serves; carried across NATS in headers. */
export interface TraceContext {
  traceId: string
  spanId: string
  parentSpanId?: string
  traceFlags: string
  tracestate?: string
  requestId: string
  userId?: string
  sessionId?: string
  /** The caller's role from the verified access token: `buyer`, `staff` or `admin`. */
  role?: string
  /** When the caller last authenticated with a credential (epoch seconds), and how (`wechat`, `pwd`, `otp`). */
  authTime?: number
  amr?: string[]
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/
const ZERO_TRACE = '0'.repeat(32)
const ZERO_SPAN = '0'.repeat(16)
const REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/
// W3C Trace Context: list members are key=value, at most 32 of them, and the header at most 512 characters.
const TRACESTATE_MEMBER = /^(?:[a-z0-9][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/

// Ids are cut from a pooled CSPRNG buffer: one randomFillSync per 4 KiB instead of one per id,
// which at two or three ids per request was a visible share of the gateway's CPU.
const pool = Buffer.allocUnsafe(4096)
let offset = pool.length
function randomHex (bytes: number): string {
  if (offset + bytes > pool.length) { randomFillSync(pool); offset = 0 }
  const hex = pool.toString('hex', offset, offset + bytes)
  offset += bytes
  return hex
}

export const newTraceId = (): string => randomHex(16)
export const newSpanId = (): string => randomHex(8)

/** Parses a W3C traceparent; returns undefined for anything the spec says to discard. */
export function parseTraceparent (header: unknown): { traceId: string, parentSpanId: string, traceFlags: string } | undefined {
  if (typeof header !== 'string') return undefined
  const value = header.trim()
  const m = TRACEPARENT.exec(value)
  if (m === null) return undefined
  const [, version, traceId, parentSpanId, traceFlags, rest] = m as unknown as [string, string, string, string, string, string | undefined]
  if (version === 'ff') return undefined
  // Version 00 has exactly four fields; later versions may append fields after a dash.
  if (version === '00' && rest !== undefined) return undefined
  if (traceId === ZERO_TRACE || parentSpanId === ZERO_SPAN) return undefined
  return { traceId, parentSpanId, traceFlags: version === '00' ? traceFlags : (parseInt(traceFlags, 16) & 1).toString(16).padStart(2, '0') }
}

/** Keeps only well-formed tracestate members, at most 32 and 512 characters, as the spec allows a vendor to do. */
export function sanitizeTracestate (header: unknown): string | undefined {
  if (typeof header !== 'string' || header.length === 0) return undefined
  const members: string[] = []
  const seen = new Set<string>()
  for (const raw of header.split(',')) {
    const member = raw.trim()
    if (member === '') continue
    if (!TRACESTATE_MEMBER.test(member)) return undefined
    const key = member.slice(0, member.indexOf('='))
    if (seen.has(key)) return undefined
    seen.add(key)
    members.push(member)
  }
  while (members.length > 32 || members.join(',').length > 512) members.pop()
  return members.length > 0 ? members.join(',') : undefined
}

export function formatTraceparent (ctx: Pick<TraceContext, 'traceId' | 'spanId' | 'traceFlags'>): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.traceFlags}`
}

export function acceptRequestId (header: unknown): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID()
}

type HeaderGetter = (name: string) => string | undefined

/**
 * The context of a new span that continues the caller's trace when its headers carry a valid one,
 * and starts a new trace otherwise.
 */
export function contextFromHeaders (get: HeaderGetter): TraceContext {
  const parent = parseTraceparent(get('traceparent'))
  const ctx: TraceContext = parent === undefined
    ? { traceId: newTraceId(), spanId: newSpanId(), traceFlags: '01', requestId: acceptRequestId(get('x-request-id')) }
    : { traceId: parent.traceId, spanId: newSpanId(), parentSpanId: parent.parentSpanId, traceFlags: parent.traceFlags, requestId: acceptRequestId(get('x-request-id')) }
  if (parent !== undefined) {
    const state = sanitizeTracestate(get('tracestate'))
    if (state !== undefined) ctx.tracestate = state
  }
  return ctx
}

/** A child span of ctx: same trace, request and user, new span id. */
export function childContext (ctx: TraceContext): TraceContext {
  return { ...ctx, parentSpanId: ctx.spanId, spanId: newSpanId() }
}

/** Fields every log line about this context carries, named as in the log contract. */
export function logBindings (ctx: TraceContext): Record<string, string> {
  const b: Record<string, string> = { trace_id: ctx.traceId, span_id: ctx.spanId, request_id: ctx.requestId }
  if (ctx.userId !== undefined) b.user_id = ctx.userId
  return b
}
