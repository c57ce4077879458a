import http from 'node:http'
import https from 'node:https'
import { rootCertificates } from 'node:tls'
import type { FastifyBaseLogger } from 'fastify'
import type { Faults } from './faults.js'
import { newNotificationId } from './ids.js'
import { sealPush, type PushSettings } from './push-sealer.js'

export interface PushAttempt { at: string, status?: number, answer?: string, error?: string }

export interface PushDelivery {
  id: string
  event: string
  /** The transaction_id the event is about. */
  subject: string
  /** The plaintext message; every attempt seals it afresh (new timestamp, nonce and signature). */
  message: Record<string, unknown>
  state: 'pending' | 'delivered' | 'failed'
  attempts: PushAttempt[]
}

/**
 * Whether WeChat takes an answer as accepted: `success` (or nothing) for most pushes; virtual-payment pushes need
 * ErrCode 0 in JSON or XML, anything else is retried.
 */
export function accepted (event: string, answer: string): boolean {
  if (!event.startsWith('xpay_')) return answer === 'success' || answer === ''
  if (/^\s*<xml>/.test(answer)) return /<ErrCode>\s*(<!\[CDATA\[)?0(\]\]>)?\s*<\/ErrCode>/.test(answer)
  try {
    return (JSON.parse(answer) as { ErrCode?: unknown }).ErrCode === 0
  } catch {
    return false
  }
}

/**
 * Sends message pushes to the merchant's push URL as WeChat does: answered within the timeout with 200 and
 * `success` (or an empty body) counts as delivered; anything else is retried on the schedule.
 */
export class Pusher {
  private readonly deliveries = new Map<string, PushDelivery>()
  private readonly onDelivered = new Map<string, () => void>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly inflight = new Set<http.ClientRequest>()
  private readonly ca: string[] | undefined
  private closed = false

  constructor (public settings: PushSettings, private readonly opts: {
    appid: string
    schedule: number[]
    timeoutMs: number
    extraCa?: string
    faults: Faults
    log: FastifyBaseLogger
  }) {
    this.ca = opts.extraCa === undefined || opts.extraCa === '' ? undefined : [...rootCertificates, opts.extraCa]
  }

  list (): PushDelivery[] {
    return [...this.deliveries.values()]
  }

  /** Queues a push; with no push URL configured it is recorded as failed, as WeChat drops it. */
  push (event: string, subject: string, message: Record<string, unknown>, onDelivered?: () => void): PushDelivery {
    const delivery: PushDelivery = { id: newNotificationId(), event, subject, message, state: 'pending', attempts: [] }
    if (onDelivered !== undefined) this.onDelivered.set(delivery.id, onDelivered)
    this.deliveries.set(delivery.id, delivery)
    if (this.settings.url === '') {
      delivery.state = 'failed'
      this.opts.log.info({ event, subject }, 'no push URL configured; push dropped')
      return delivery
    }
    this.later(0, () => { void this.attempt(delivery, 0) })
    return delivery
  }

  /** Sends a known push again (a replay, as WeChat does when it saw no answer). */
  redeliver (id: string): PushDelivery | undefined {
    const delivery = this.deliveries.get(id)
    if (delivery === undefined) return undefined
    delivery.state = 'pending'
    this.later(0, () => { void this.attempt(delivery, this.opts.schedule.length) })
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

  private async attempt (delivery: PushDelivery, index: number): Promise<void> {
    if (this.closed) return
    const effects = this.opts.faults.take('push')
    if (effects.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, effects.latencyMs))
    const attempt: PushAttempt = { at: new Date().toISOString() }
    try {
      const sealed = sealPush(this.settings, this.opts.appid, delivery.message)
      if (effects.badSignature) sealed.query.set('signature', '0'.repeat(40))
      const url = new URL(this.settings.url)
      for (const [k, v] of sealed.query) url.searchParams.set(k, v)
      const res = await this.post(url, sealed.body, sealed.contentType)
      attempt.status = res.status
      attempt.answer = res.body.slice(0, 200)
    } catch (err) {
      attempt.error = (err as Error).message
    }
    delivery.attempts.push(attempt)
    if (attempt.status === 200 && accepted(delivery.event, attempt.answer ?? '')) {
      delivery.state = 'delivered'
      this.onDelivered.get(delivery.id)?.()
      this.opts.log.info({ id: delivery.id, event: delivery.event, attempts: delivery.attempts.length }, 'push delivered')
      return
    }
    const wait = this.opts.schedule[index]
    if (wait === undefined) {
      if (delivery.state !== 'delivered') delivery.state = 'failed'
      this.opts.log.warn({ id: delivery.id, event: delivery.event, attempts: delivery.attempts.length }, 'push given up')
      return
    }
    this.opts.log.info({ id: delivery.id, status: attempt.status, error: attempt.error, retryInMs: wait }, 'push not accepted; retrying')
    this.later(wait, () => { void this.attempt(delivery, index + 1) })
  }

  private async post (url: URL, body: string, contentType: string): Promise<{ status: number, body: string }> {
    const mod = url.protocol === 'https:' ? https : http
    return await new Promise((resolve, reject) => {
      const req = mod.request(url, {
        method: 'POST',
        headers: { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'Mozilla/4.0' },
        timeout: this.opts.timeoutMs,
        ...(url.protocol === 'https:' && this.ca !== undefined ? { ca: this.ca } : {})
      }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').trim() }))
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
