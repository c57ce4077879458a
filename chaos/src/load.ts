import { randomBytes, randomUUID } from 'node:crypto'
import { request, simCall, type Outcome, type RequestSpec } from './client.js'
import type { Stack } from './stack.js'

/** One order a user means to place: one Idempotency-Key, however many times it is sent. */
export interface OrderIntent {
  key: string
  userId: string
  body: { productId: string, quantity: number }
  /** Every order id and out_trade_no the API answered this key with (the books expect one of each). */
  orderIds: Set<string>
  outTradeNos: Set<string>
  /** Requests sent with the key. */
  attempts: number
  resolved: boolean
  /** The phone paid it at the simulator, which accepted the payment. */
  paid: boolean
  /** A 4xx other than 409-in-use: the key's request was refused for good. */
  refused?: string
}

export interface LoadOptions {
  /** Concurrent virtual users, each a WeChat user of its own. */
  vus: number
  /** Probability that an order is sent twice at once with the same key (a double tap). */
  doubleTap?: number
  /** Extra copies of each payment notification the simulator sends at once. */
  duplicates?: () => number
  /** Wait before the simulator sends a payment's notification (reorders them). */
  notifyDelayMs?: () => number
  /** Pause between one user's iterations. */
  thinkMs?: number
  /** How long a user keeps retrying an order's key after the load was told to stop. */
  settleMs?: number
  /** Every this many iterations a user logs out, then tries its old token; never when unset. */
  logoutEvery?: number
  /** Products orders are picked from, evenly; PRODUCTS when unset. */
  products?: string[]
}

/** A token whose logout answered 200, tried again afterwards: any answer but 401 means it was accepted. */
export interface RevokedProbe {
  /** When the logout's answer arrived. */
  answeredAt: number
  /** When the probe was sent (after the answer, always). */
  sentAt: number
  status?: number
  error?: string
}

/**
 * Goods shipped by staff (physical goods on JSAPI, which stay PAID here) and virtual goods sold on JSAPI, which are reported to WeChat's
 * shipping management at payment with no human step (the stack adds VIRTUAL_PRODUCT to the catalog).
 */
export const VIRTUAL_PRODUCT = 'e-stickers'
export const PRODUCTS = ['latte', 'tote-bag', 'postcard', VIRTUAL_PRODUCT]
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)] as T

/**
 * A steady mix of what mini-programs do: WeChat logins, profile reads, order creations with an Idempotency-Key
 * (some double-tapped, every failure retried with the same key as a careful client does), payments through the
 * simulator, and order reads. Every request to the public API is recorded with its outcome.
 */
export class Load {
  readonly outcomes: Outcome[] = []
  readonly intents: OrderIntent[] = []
  readonly userIds = new Set<string>()
  /** Payments the simulator refused (not the API's books, but worth seeing). */
  readonly payFailures: string[] = []
  /** Requests sent with a logged-out token after its logout answered. */
  readonly revokedProbes: RevokedProbe[] = []
  private stopping = false
  private stopAt = 0
  private running: Array<Promise<void>> = []

  constructor (private readonly stack: Stack, private readonly opts: LoadOptions) {}

  start (): void {
    this.running = Array.from({ length: this.opts.vus }, async (_v, i) => { await this.user(i) })
  }

  /** Stops starting new work; users finish the order in hand (retrying its key) before they return. */
  async stop (): Promise<void> {
    this.stopping = true
    this.stopAt = Date.now()
    await Promise.all(this.running)
  }

  private async call (spec: RequestSpec): Promise<Outcome> {
    const o = await request(this.stack, spec)
    this.outcomes.push(o)
    return o
  }

  private get settled (): boolean {
    return this.stopping && Date.now() - this.stopAt > (this.opts.settleMs ?? 60_000)
  }

  private async login (openid: string): Promise<{ token: string, userId: string } | undefined> {
    for (let attempt = 0; !this.settled; attempt++) {
      const code = await simCall(this.stack.simUrl, '/sim/wx-login', { openid })
      const o = await this.call({ method: 'POST', path: '/v1/auth/wechat/login', kind: 'login', body: { code: code.body.code } })
      const body = o.body as { accessToken?: string, user?: { id?: string } } | undefined
      if (o.status === 200 && typeof body?.accessToken === 'string' && typeof body.user?.id === 'string') {
        this.userIds.add(body.user.id)
        return { token: body.accessToken, userId: body.user.id }
      }
      if (this.stopping) return undefined
      await sleep(Math.min(2000, 100 * 2 ** attempt))
    }
    return undefined
  }

  private async user (i: number): Promise<void> {
    const openid = `oChaos${i}_${randomBytes(6).toString('hex')}`
    let session = await this.login(openid)
    for (let n = 1; !this.stopping && session !== undefined; n++) {
      // Phones log in again now and then (a new wx.login code each time).
      if (n % 6 === 0) session = await this.login(openid) ?? session
      await this.call({ method: 'GET', path: '/v1/users/me', kind: 'me', headers: { authorization: `Bearer ${session.token}` } })
      const intent = await this.order(session, openid)
      if (intent.resolved && Math.random() < 0.3) {
        const id = [...intent.orderIds][0] as string
        await this.call({ method: 'GET', path: `/v1/payments/orders/${id}`, kind: 'get-order', headers: { authorization: `Bearer ${session.token}` } })
      }
      if (this.opts.logoutEvery !== undefined && n % this.opts.logoutEvery === 0) session = await this.logoutAndProbe(session, openid)
      if (this.opts.thinkMs !== undefined) await sleep(this.opts.thinkMs)
    }
  }

  /**
   * Logs out; once the logout answered 200 the old token must be refused from then on: it is sent again at once
   * and once more a moment later, each recorded as a probe. Then the user logs in again. A logout that did not
   * answer 200 (503 while the bucket is unavailable) leaves the session as it was, as its answer says.
   */
  private async logoutAndProbe (session: { token: string, userId: string }, openid: string): Promise<{ token: string, userId: string } | undefined> {
    const auth = { authorization: `Bearer ${session.token}` }
    const out = await this.call({ method: 'POST', path: '/v1/auth/logout', kind: 'logout', headers: { ...auth, 'content-type': 'application/json' }, body: {} })
    if (out.status !== 200) return session
    for (const waitMs of [0, 250]) {
      if (waitMs > 0) await sleep(waitMs)
      const sentAt = Date.now()
      const probe = await this.call({ method: 'GET', path: '/v1/users/me', kind: 'revoked-probe', headers: auth })
      this.revokedProbes.push({ answeredAt: out.end, sentAt, ...(probe.status === undefined ? {} : { status: probe.status }), ...(probe.error === undefined ? {} : { error: probe.error }) })
    }
    return await this.login(openid)
  }

  /** One order to the end: retried with its key until the API answers it for good. */
  private async order (session: { token: string, userId: string }, openid: string): Promise<OrderIntent> {
    const intent: OrderIntent = {
      key: randomUUID(),
      userId: session.userId,
      body: { productId: pick(this.opts.products ?? PRODUCTS), quantity: 1 + Math.floor(Math.random() * 3) },
      orderIds: new Set(),
      outTradeNos: new Set(),
      attempts: 0,
      resolved: false,
      paid: false
    }
    this.intents.push(intent)
    const send = async (): Promise<Outcome> => {
      intent.attempts++
      const o = await this.call({
        method: 'POST',
        path: '/v1/payments/orders',
        kind: 'order',
        headers: { authorization: `Bearer ${session.token}`, 'idempotency-key': intent.key },
        body: intent.body
      })
      const order = orderOf(o.body)
      if (o.status !== undefined && o.status >= 200 && o.status < 300 && order !== undefined) {
        intent.orderIds.add(order.id)
        intent.outTradeNos.add(order.outTradeNo)
        intent.resolved = true
      }
      return o
    }
    for (let attempt = 0; !intent.resolved && !this.settled; attempt++) {
      const tap = attempt === 0 && Math.random() < (this.opts.doubleTap ?? 0.2)
      const [o] = await Promise.all([send(), ...(tap ? [send()] : [])])
      if (intent.resolved) break
      const status = o?.status
      if (status === 401) {
        const fresh = await this.login(openid)
        if (fresh !== undefined) session.token = fresh.token
      } else if (status !== undefined && status >= 400 && status < 500 && status !== 409 && status !== 429) {
        intent.refused = `${status} ${o?.code ?? ''}`
        break
      }
      await sleep(Math.min(2000, 150 * 2 ** Math.min(attempt, 4)))
    }
    if (intent.resolved && !this.settled) await this.pay(intent)
    return intent
  }

  private async pay (intent: OrderIntent): Promise<void> {
    const outTradeNo = [...intent.outTradeNos][0] as string
    const duplicates = this.opts.duplicates?.()
    const delayMs = this.opts.notifyDelayMs?.()
    const r = await simCall(this.stack.simUrl, '/sim/pay', {
      outTradeNo,
      result: 'SUCCESS',
      ...(duplicates === undefined ? {} : { duplicates }),
      ...(delayMs === undefined ? {} : { delayMs })
    })
    if (r.status === 200 && r.body?.tradeState === 'SUCCESS') intent.paid = true
    else this.payFailures.push(`${outTradeNo}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`)
  }
}

/** The order in a create answer, whether the gateway sends the order itself or `{replayed, order}`. */
export function orderOf (body: unknown): { id: string, outTradeNo: string } | undefined {
  if (body === null || typeof body !== 'object') return undefined
  const b = body as Record<string, unknown>
  const o = (typeof b.order === 'object' && b.order !== null ? b.order : b) as Record<string, unknown>
  return typeof o.id === 'string' && typeof o.outTradeNo === 'string' ? { id: o.id, outTradeNo: o.outTradeNo } : undefined
}
