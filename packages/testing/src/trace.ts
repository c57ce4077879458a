import { randomBytes, randomUUID } from 'node:crypto'

/** What a caller hands a NATS request (core's `TraceContext`): a trace of its own, and who is calling. */
export interface CallerContext {
  traceId: string
  spanId: string
  traceFlags: string
  requestId: string
  userId?: string
  sessionId?: string
}

/** A fresh sampled trace for one call, as the gateway starts it; `who` names the user and session it verified. */
export function callerContext (who: { userId?: string, sessionId?: string } = {}): CallerContext {
  return { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex'), traceFlags: '01', requestId: randomUUID(), ...who }
}
