import { randomUUID } from 'node:crypto'

/** The simulated endpoints a fault can target. */
export const ENDPOINTS = [
  'jscode2session', 'stable_token', 'token', 'getuserphonenumber', 'checksession',
  'jsapi', 'query', 'close', 'refund', 'query_refund', 'notify',
  'upload_shipping_info', 'get_order', 'is_trade_managed', 'notify_confirm_receive', 'set_msg_jump_path', 'push',
  'xpay_query_order', 'xpay_refund_order', 'xpay_notify_provide_goods'
] as const
export type Endpoint = typeof ENDPOINTS[number]

export interface FaultSpec {
  /** An endpoint name, or '*' for all. */
  endpoint: Endpoint | '*'
  /** Mini-program APIs: answer with this errcode (HTTP 200, as WeChat does). */
  errcode?: number
  errmsg?: string
  /** WeChat Pay: answer with this error code and HTTP status. */
  code?: string
  message?: string
  /** HTTP status: with `code` for Pay; alone, a bare error page (a proxy failing in front of WeChat). */
  status?: number
  /** Wait this long before answering. */
  latencyMs?: number
  /** Sign the Pay response or notification with a wrong (probe) signature. */
  badSignature?: boolean
  /** Send the Pay response with no signature at all, as a proxy or impostor in front of WeChat Pay would. */
  unsigned?: boolean
  /** Close the connection without answering. */
  hangup?: boolean
  /** Carry the call out, then close the connection without answering: the answer is lost on the way back. */
  lostAnswer?: boolean
  /** Apply to this many calls, then stop; unlimited when absent. */
  times?: number
  /** Apply to each call with this probability. */
  probability?: number
}

export interface Fault extends FaultSpec { id: string, applied: number }

/** What the faults that fire on one call add up to. */
export interface Effects {
  latencyMs: number
  error?: Fault
  badSignature: boolean
  unsigned: boolean
  hangup: boolean
  lostAnswer: boolean
}

/** Injected faults. Each call takes its effects in one synchronous step, so concurrent calls never overspend `times`. */
export class Faults {
  private faults: Fault[] = []

  add (spec: FaultSpec): Fault {
    const fault: Fault = { ...spec, id: randomUUID(), applied: 0 }
    this.faults.push(fault)
    return fault
  }

  list (): Fault[] {
    return this.faults.map((f) => ({ ...f }))
  }

  clear (): void {
    this.faults = []
  }

  take (endpoint: Endpoint): Effects {
    const effects: Effects = { latencyMs: 0, badSignature: false, unsigned: false, hangup: false, lostAnswer: false }
    for (const f of this.faults) {
      if (f.endpoint !== '*' && f.endpoint !== endpoint) continue
      if (f.times !== undefined && f.applied >= f.times) continue
      if (f.probability !== undefined && Math.random() >= f.probability) continue
      const isError = f.errcode !== undefined || f.code !== undefined || f.status !== undefined
      const answers = isError || f.hangup === true || f.lostAnswer === true
      // One answer per call: a second error or hangup waits for a later call instead of being spent for nothing.
      if (answers && (effects.error !== undefined || effects.hangup || effects.lostAnswer)) continue
      f.applied++
      effects.latencyMs += f.latencyMs ?? 0
      if (isError) effects.error = f
      if (f.badSignature === true) effects.badSignature = true
      if (f.unsigned === true) effects.unsigned = true
      if (f.hangup === true) effects.hangup = true
      if (f.lostAnswer === true) effects.lostAnswer = true
    }
    this.faults = this.faults.filter((f) => f.times === undefined || f.applied < f.times)
    return effects
  }
}
