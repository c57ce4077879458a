import http from 'node:http'
import https from 'node:https'
import { rootCertificates } from 'node:tls'
import type { FastifyBaseLogger } from 'fastify'
import type { Faults } from './faults.js'
import { beijingTime, newNotificationId, newRequestId } from './ids.js'
import { encryptResource, wechatpayHeaders, type SimKeys } from './signing.js'

export interface Attempt { at: string, status?: number, error?: string }

export interface Delivery {
  id: string
  url: string
  eventType: string
  /** out_trade_no or out_refund_no the event is about. */
  subject: string
  state: 'pending' | 'delivered' | 'failed'
  attempts: Attempt[]
  /** The decrypted resource, for tests; the wire body carries it encrypted. */
  resource: Record<string, unknown>
  /** The exact body sent on every attempt. */
  body: string
}

export interface NotifyInput {
  url: string
  eventType: string
  summary: string
  originalType: 'transaction' | 'refund'
  subject: string
  resource: Record<string, unknown>
}

/** Parses `15s,15s,30s,3m` (bare numbers are ms) into milliseconds, scaled. */
export function parseSchedule (spec: string, scale: number): number[] {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  return spec.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    const m = /^(\d+)(ms|s|m|h)?$/.exec(s)
    if (m === null) throw new Error(`bad schedule entry ${s}`)
    return Math.max(1, Math.round(Number(m[1]) * unit[m[2] ?? 'ms']! * scale))
  })
}

/**
 * Delivers signed, encrypted notifications to merchants the way WeChat Pay does: the same body on every attempt,
 * freshly signed, retried on the schedule until the merchant answers 200 or 204.
 */
export class Notifier {
  private readonly deliveries = new Map<string, Delivery>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly inflight = new Set<http.ClientRequest>()
  private readonly ca: string[] | undefined
  private closed = false

  constructor (private readonly opts: {
    keys: SimKeys
    schedule: number[]
    timeoutMs: number
    extraCa?: string
    faults: Faults
    log: FastifyBaseLogger
  }) {
    this.ca = opts.extraCa === undefined || opts.extraCa === '' ? undefined : [...rootCertificates, opts.extraCa]
  }

  list (): Delivery[] {
    return [...this.deliveries.values()]
  }

  get (id: string): Delivery | undefined {
    return this.deliveries.get(id)
  }

  /** Sends a new notification: `duplicates` extra copies at once, after `delayMs`. */
  notify (input: NotifyInput, opts: { duplicates?: number, delayMs?: number } = {}): Delivery {
    const id = newNotificationId()
    const plaintext = JSON.stringify(input.resource)
    const body = JSON.stringify({
      id,
      create_time: beijingTime(),
      resource_type: 'encrypt-resource',
      event_type: input.eventType,
      summary: input.summary,
      resource: encryptResource(this.opts.keys.apiV3Key, plaintext, input.originalType)
    })
    const delivery: Delivery = { id, url: input.url, eventType: input.eventType, subject: input.subject, state: 'pending', attempts: [], resource: input.resource, body }
    this.deliveries.set(id, delivery)
    for (let i = 0; i <= (opts.duplicates ?? 0); i++) this.later(opts.delayMs ?? 0, () => { void this.attempt(delivery, 0, i === 0) })
    return delivery
  }

  /** Sends a known notification again, as WeChat Pay does when it has not seen a 200 (or to test duplicates). */
  redeliver (id: string): Delivery | undefined {
    const delivery = this.deliveries.get(id)
    if (delivery === undefined) return undefined
    delivery.state = 'pending'
    this.later(0, () => { void this.attempt(delivery, 0, true) })
    return delivery
  }

  close (): void {
    this.closed = true
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    for (const r of this.inflight) r.destroy()
  }

  private later (ms: number, fn: () => void): void {
    if (this.closed) return
    const timer = setTimeout(() => { this.timers.delete(timer); fn() }, ms)
    this.timers.add(timer)
  }

  /** One attempt; `retries` says whether a failure schedules the next one (duplicates do not). */
  private async attempt (delivery: Delivery, index: number, retries: boolean): Promise<void> {
    if (this.closed) return
    const effects = this.opts.faults.take('notify')
    if (effects.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, effects.latencyMs))
    const attempt: Attempt = { at: new Date().toISOString() }
    try {
      attempt.status = await this.post(delivery.url, delivery.body, effects.badSignature)
    } catch (err) {
      attempt.error = (err as Error).message
    }
    delivery.attempts.push(attempt)
    if (attempt.status === 200 || attempt.status === 204) {
      delivery.state = 'delivered'
      this.opts.log.info({ id: delivery.id, eventType: delivery.eventType, attempts: delivery.attempts.length }, 'notification delivered')
      return
    }
    if (!retries || delivery.state === 'delivered') return
    const wait = this.opts.schedule[index]
    if (wait === undefined) {
      delivery.state = 'failed'
      this.opts.log.warn({ id: delivery.id, eventType: delivery.eventType, attempts: delivery.attempts.length }, 'notification given up')
      return
    }
    this.opts.log.info({ id: delivery.id, status: attempt.status, error: attempt.error, retryInMs: wait }, 'notification not accepted; retrying')
    this.later(wait, () => { void this.attempt(delivery, index + 1, true) })
  }

  private async post (url: string, body: string, badSignature: boolean): Promise<number> {
    const target = new URL(url)
    const headers = {
      ...wechatpayHeaders(this.opts.keys, body, { probe: badSignature }),
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': 'Mozilla/4.0',
      'request-id': newRequestId()
    }
    const mod = target.protocol === 'https:' ? https : http
    return await new Promise<number>((resolve, reject) => {
      const req = mod.request(target, {
        method: 'POST',
        headers,
        timeout: this.opts.timeoutMs,
        ...(target.protocol === 'https:' && this.ca !== undefined ? { ca: this.ca } : {})
      }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
        res.on('error', reject)
      })
      this.inflight.add(req)
      req.on('close', () => this.inflight.delete(req))
      req.on('timeout', () => req.destroy(new Error('timed out')))
      req.on('error', reject)
      req.end(body)
    })
  }
}
