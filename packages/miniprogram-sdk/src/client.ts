import { ApiError, NetworkError, SPENT_CODE, WxError, toApiError } from './errors'
import { newIdempotencyKey, newTraceId, traceparent } from './ids'
import { Limiter } from './limiter'
import { TokenStore } from './token-store'
import type { CreatedOrder, LoginResult, Method, Order, OrderPage, PaymentOutcome, PayParams, Product, RefundRequest, SessionInfo, Tokens, UserProfile, VirtualPayParams, WxLike } from './types'

export interface ClientOptions {
  /** The gateway's https origin, e.g. `https://api.example.com`; it must be a configured request domain. */
  baseUrl: string
  /** The wx object; the global `wx` unless given. */
  wx?: WxLike
  /** Storage key under which the tokens are kept. */
  storageKey?: string
  /** Most wx.request calls in flight at once; WeChat's cap is 10. */
  maxInFlight?: number
  /** Extra attempts after a lost answer or a 502/503/504 (only for reads and writes with an Idempotency-Key). */
  retries?: number
  /** wx.request timeout in ms. */
  timeout?: number
  /** Treat the access token as expired this many ms before it does, so it does not expire in flight. */
  expirySkewMs?: number
  /** After a successful payment sheet, how long to wait for the backend to see the payment. */
  paymentConfirmMs?: number
  /** After a failed or cancelled sheet, how long to watch for a payment that happened anyway. */
  paymentCheckMs?: number
  /**
   * payParams signed longer ago than this (by their timeStamp) are replaced with fresh ones from the backend before
   * the sheet opens: WeChat's prepay_id lives two hours.
   */
  payParamsMaxAgeMs?: number
}

export interface RequestOptions {
  method?: Method
  /** Path under the gateway, e.g. `/v1/users/me`. */
  path: string
  data?: WechatMiniprogram.IAnyObject
  /** Send the access token (and renew it on 401); true unless the route is public. */
  auth?: boolean
  /** Sent as Idempotency-Key on every attempt, which makes a write safe to retry. */
  idempotencyKey?: string
  header?: Record<string, string>
}

interface RawResponse { statusCode: number, data: unknown, header: Record<string, unknown> }

const RETRY_STATUS = [502, 503, 504]
/** The backend's answer when WeChat replaced the user's session_key (a virtual payment needs the current one). */
const SESSION_KEY_STALE = 'AUTH_SESSION_KEY_STALE'
/** wx.requestVirtualPayment's errCode for a user-state signature made with a session_key that is no longer current. */
const STALE_SIGNATURE_ERRCODE = -15007

function errorCode (data: unknown): string | undefined {
  const e = (data as { error?: { code?: unknown } } | null)?.error
  return typeof e?.code === 'string' ? e.code : undefined
}
const SAFE: Method[] = ['GET', 'HEAD', 'OPTIONS']

function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => { setTimeout(resolve, ms) })
}

/**
 * The mini-program's client of the wxmp gateway. One instance per app (create it in app.ts and share it): the
 * single-flight login and refresh only hold within one instance.
 */
export class WxmpClient {
  private readonly wx: WxLike
  private readonly limiter: Limiter
  private readonly store: TokenStore
  private readonly opts: Required<Omit<ClientOptions, 'wx' | 'storageKey'>>
  private renewing: Promise<LoginResult> | undefined

  constructor (options: ClientOptions) {
    if (!/^https:\/\//.test(options.baseUrl)) throw new Error('baseUrl must be an https origin: wx.request only reaches configured https domains')
    this.wx = options.wx ?? wx
    this.store = new TokenStore(this.wx, options.storageKey ?? 'wxmp.tokens')
    this.opts = {
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      maxInFlight: options.maxInFlight ?? 10,
      retries: options.retries ?? 2,
      timeout: options.timeout ?? 15000,
      expirySkewMs: options.expirySkewMs ?? 30000,
      paymentConfirmMs: options.paymentConfirmMs ?? 15000,
      paymentCheckMs: options.paymentCheckMs ?? 3000,
      payParamsMaxAgeMs: options.payParamsMaxAgeMs ?? 90 * 60_000
    }
    this.limiter = new Limiter(this.opts.maxInFlight)
  }

  /** wx.request calls running now and waiting for a slot. */
  get pending (): { inFlight: number, queued: number } {
    return { inFlight: this.limiter.inFlight, queued: this.limiter.queued }
  }

  /** The stored tokens, if any. */
  get tokens (): Tokens | undefined {
    return this.store.get()
  }

  /**
   * Signs in if needed: nothing when the access token is usable, a refresh when a refresh token is held, and
   * wx.login only when there is none (WeChat limits wx.login per user and day). Concurrent calls share one.
   */
  async login (): Promise<LoginResult> {
    const t = this.store.get()
    if (t !== undefined && this.usable(t)) return t
    return await this.renew(t === undefined ? undefined : t.accessToken)
  }

  /** One API call; resolves with the body of a 2xx, rejects with ApiError (any other status) or NetworkError. */
  async request<T> (r: RequestOptions): Promise<T> {
    const method: Method = r.method ?? 'GET'
    const auth = r.auth !== false
    const traceId = newTraceId()
    let renewed = false
    let steppedUp = false
    let relogged = false
    let retries = 0
    for (;;) {
      const token = auth ? (await this.login()).accessToken : undefined
      const header: Record<string, string> = { ...r.header, traceparent: traceparent(traceId) }
      if (token !== undefined) header.authorization = `Bearer ${token}`
      if (r.idempotencyKey !== undefined) header['idempotency-key'] = r.idempotencyKey
      const retryable = SAFE.indexOf(method) >= 0 || r.idempotencyKey !== undefined
      let res: RawResponse
      try {
        res = await this.send(method, r.path, r.data, header)
      } catch (err) {
        if (err instanceof NetworkError && retryable && retries < this.opts.retries) {
          retries++
          await sleep(200 * retries)
          continue
        }
        throw err
      }
      if (res.statusCode === 401 && token !== undefined && !steppedUp && errorCode(res.data) === 'AUTH_REAUTH_REQUIRED') {
        // The action needs a recent sign-in (deleting the account, binding a password): a fresh wx.login proves it
        // without asking the user anything, then the same request once more.
        steppedUp = true
        await this.stepUp()
        continue
      }
      if (res.statusCode === 401 && token !== undefined && !renewed) {
        // One renewal, shared with every other request that met the same expired token.
        renewed = true
        await this.renew(token)
        continue
      }
      if (res.statusCode === 409 && token !== undefined && !relogged && errorCode(res.data) === SESSION_KEY_STALE) {
        // WeChat replaced the session_key the backend holds (virtual payment needs the current one): one fresh
        // wx.login gives the backend the new key, then the same request (same Idempotency-Key) once more.
        relogged = true
        await this.wxLogin()
        continue
      }
      if (RETRY_STATUS.indexOf(res.statusCode) >= 0 && retryable && retries < this.opts.retries) {
        retries++
        await sleep(200 * retries)
        continue
      }
      if (res.statusCode >= 200 && res.statusCode < 300) return res.data as T
      throw toApiError(res.statusCode, res.data, res.header)
    }
  }

  async me (): Promise<UserProfile> {
    return await this.request<UserProfile>({ path: '/v1/users/me' })
  }

  /** Changes nickname and/or avatar URL (PUT: wx.request has no PATCH). */
  async updateProfile (changes: { nickname?: string, avatarUrl?: string | null }): Promise<UserProfile> {
    return await this.request<UserProfile>({ method: 'PUT', path: '/v1/users/me', data: changes })
  }

  /** Binds the phone from the code of a `<button open-type="getPhoneNumber">` event (`e.detail.code`). */
  async bindPhone (code: string): Promise<{ phone: string }> {
    return await this.request<{ phone: string }>({ method: 'POST', path: '/v1/auth/wechat/phone', data: { code } })
  }

  async products (): Promise<Product[]> {
    return await this.request<Product[]>({ path: '/v1/payments/products', auth: false })
  }

  /**
   * Places an order. Every attempt carries the same Idempotency-Key, so an answer lost on the way back and
   * retried makes one order; pass your own key to retry across app restarts.
   */
  async createOrder (item: { productId: string, quantity: number }, idempotencyKey: string = newIdempotencyKey()): Promise<CreatedOrder> {
    return await this.request<CreatedOrder>({ method: 'POST', path: '/v1/payments/orders', data: item, idempotencyKey })
  }

  async orders (cursor?: string): Promise<OrderPage> {
    return await this.request<OrderPage>({ path: '/v1/payments/orders' + (cursor === undefined ? '' : `?cursor=${encodeURIComponent(cursor)}`) })
  }

  async order (id: string): Promise<Order> {
    return await this.request<Order>({ path: `/v1/payments/orders/${encodeURIComponent(id)}` })
  }

  /**
   * Fresh payParams for one of the user's unpaid orders, to pay it later (from the order list, or after the two
   * hours a prepay_id lives). An order that can no longer be paid rejects with ApiError `ORDER_NOT_PAYABLE` (409).
   */
  async payParams (orderId: string): Promise<CreatedOrder> {
    return await this.request<CreatedOrder>({ method: 'POST', path: `/v1/payments/orders/${encodeURIComponent(orderId)}/pay-params` })
  }

  /**
   * Asks the merchant to refund (part of) a paid order, `amount` in fen with the buyer's reason: the order becomes
   * REFUND_REQUESTED until staff approve (REFUNDING, then REFUNDED) or decline it (back to PAID). Retried with the
   * same Idempotency-Key, so a lost answer makes one request.
   */
  async requestRefund (orderId: string, refund: { amount: number, reason: string }, idempotencyKey: string = newIdempotencyKey()): Promise<{ request: RefundRequest, order: Order }> {
    return await this.request<{ request: RefundRequest, order: Order }>({ method: 'POST', path: `/v1/payments/orders/${encodeURIComponent(orderId)}/refund-requests`, data: refund, idempotencyKey })
  }

  /** Cancels one of the user's unpaid orders (closed at WeChat Pay first); a paid one rejects with `ORDER_NOT_CLOSABLE`. */
  async cancelOrder (orderId: string): Promise<Order> {
    return await this.request<Order>({ method: 'POST', path: `/v1/payments/orders/${encodeURIComponent(orderId)}/cancel` })
  }

  /**
   * Opens WeChat's payment sheet with the order's payParams, then asks the backend what happened: the sheet's
   * `fail cancel` does not prove the buyer did not pay (the network may have dropped the answer after paying),
   * and its success arrives before WeChat Pay's notification does. Without payParams, or with ones older than
   * `payParamsMaxAgeMs` (a replayed checkout answer, an order paid later), fresh ones are fetched first.
   */
  async requestPayment (order: { id: string, payParams?: PayParams, virtualPayment?: VirtualPayParams, rail?: unknown }): Promise<PaymentOutcome> {
    if (order.virtualPayment !== undefined || order.rail === 'virtual') return await this.requestVirtualPayment(order)
    const held = order.payParams
    const p = held !== undefined && Date.now() - Number(held.timeStamp) * 1000 < this.opts.payParamsMaxAgeMs
      ? held
      : (await this.payParams(order.id)).payParams
    if (p === undefined) throw new WxError('requestPayment:fail the order has no JSAPI pay parameters')
    const sheet = await new Promise<{ ok: boolean, errMsg: string }>((resolve) => {
      this.wx.requestPayment({
        timeStamp: p.timeStamp,
        nonceStr: p.nonceStr,
        package: p.package,
        signType: p.signType,
        paySign: p.paySign,
        success: (r) => { resolve({ ok: true, errMsg: r.errMsg }) },
        fail: (e) => { resolve({ ok: false, errMsg: e.errMsg }) }
      })
    })
    return await this.settled(order.id, sheet)
  }

  /**
   * Virtual goods: wx.requestVirtualPayment with the order's signData, paySig and signature, then the backend's
   * word on the order, as for requestPayment. A signature WeChat refuses because the session_key changed (errCode
   * -15007) is made again once with fresh parameters (the backend asks for a new wx.login first if it must).
   */
  async requestVirtualPayment (order: { id: string, virtualPayment?: VirtualPayParams }): Promise<PaymentOutcome> {
    const open = (p: VirtualPayParams): Promise<{ ok: boolean, errMsg: string, errCode?: number }> => new Promise((resolve) => {
      if (this.wx.requestVirtualPayment === undefined) {
        resolve({ ok: false, errMsg: 'requestVirtualPayment:fail not supported (base library >= 2.19.2)' })
        return
      }
      this.wx.requestVirtualPayment({
        mode: p.mode,
        signData: p.signData,
        paySig: p.paySig,
        signature: p.signature,
        success: (r: { errMsg: string }) => { resolve({ ok: true, errMsg: r.errMsg }) },
        fail: (e: { errMsg: string, errCode?: number }) => { resolve({ ok: false, errMsg: e.errMsg, ...(e.errCode === undefined ? {} : { errCode: e.errCode }) }) }
      } as unknown as Parameters<NonNullable<WxLike['requestVirtualPayment']>>[0])
    })
    const fresh = async (): Promise<VirtualPayParams> => {
      const p = (await this.payParams(order.id)).virtualPayment
      if (p === undefined) throw new WxError('requestVirtualPayment:fail the order has no virtual payment parameters')
      return p
    }
    let sheet = await open(order.virtualPayment ?? await fresh())
    if (!sheet.ok && sheet.errCode === STALE_SIGNATURE_ERRCODE) sheet = await open(await fresh())
    return await this.settled(order.id, sheet)
  }

  /** Polls the order until the backend has the payment, or the deadline for this sheet's outcome passes. */
  private async settled (orderId: string, sheet: { ok: boolean, errMsg: string }): Promise<PaymentOutcome> {
    const order = { id: orderId }
    const deadline = Date.now() + (sheet.ok ? this.opts.paymentConfirmMs : this.opts.paymentCheckMs)
    let current = await this.order(order.id)
    while (current.status === 'PENDING' && Date.now() < deadline) {
      await sleep(300)
      current = await this.order(order.id)
    }
    return { order: current, paid: current.status !== 'PENDING' && current.status !== 'CLOSED', errMsg: sheet.errMsg }
  }

  /** Ends this session at the backend (the access token is refused at once) and forgets the tokens. */
  async logout (): Promise<void> {
    const t = this.store.get()
    if (t === undefined) return
    try {
      await this.request<unknown>({ method: 'POST', path: '/v1/auth/logout' })
    } catch (err) {
      // An already ended session is the goal reached; anything else leaves the tokens for another try.
      if (!(err instanceof ApiError && err.status === 401)) throw err
    }
    this.store.clear()
  }

  /** The user's live sessions: where and when each signed in, and which one is this. */
  async sessions (): Promise<SessionInfo[]> {
    return (await this.request<{ sessions: SessionInfo[] }>({ path: '/v1/auth/sessions' })).sessions
  }

  /** Ends one of the user's sessions (another device): its tokens are refused from the answer on. */
  async revokeSession (sessionId: string): Promise<void> {
    await this.request<unknown>({ method: 'DELETE', path: `/v1/auth/sessions/${encodeURIComponent(sessionId)}` })
  }

  /**
   * Ends every session of the user, this one included, and forgets the tokens. `removePassword` also removes the
   * username and password bound to the account; the backend wants a fresh sign-in for that, which request() does with
   * a new wx.login when asked (step-up).
   */
  async logoutAll (options: { removePassword?: boolean } = {}): Promise<{ revokedSessions: number, passwordRemoved: boolean }> {
    const data = options.removePassword === true ? { removePassword: true } : undefined
    const r = await this.request<{ revokedSessions: number, passwordRemoved: boolean }>({ method: 'POST', path: '/v1/auth/logout-all', ...(data === undefined ? {} : { data }) })
    this.store.clear()
    return r
  }

  /**
   * Deletes the account: profile, phone and WeChat link erased, every session ended. Orders are kept by the merchant
   * for accounting without them. The backend wants a fresh sign-in, which request() does with a new wx.login when asked (step-up).
   * The next call signs in as a new user.
   */
  async deleteAccount (): Promise<void> {
    await this.request<unknown>({ method: 'DELETE', path: '/v1/users/me' })
    this.store.clear()
  }

  private usable (t: Tokens): boolean {
    return t.accessToken !== '' && t.expiresAt - this.opts.expirySkewMs > Date.now()
  }

  /**
   * New tokens for every caller that held `stale`: one refresh (or login) in flight at a time, whoever asks.
   * A caller whose stale token was already replaced gets the new one without another round trip.
   */
  private renew (stale: string | undefined): Promise<LoginResult> {
    if (this.renewing !== undefined) return this.renewing
    const t = this.store.get()
    if (t !== undefined && t.accessToken !== stale && this.usable(t)) return Promise.resolve(t)
    const done = (): void => { this.renewing = undefined }
    // then(ok, fail) rather than finally: Promise.prototype.finally is ES2018, missing on old base libraries.
    const p = this.renewNow().then((r) => { done(); return r }, (err) => { done(); throw err })
    this.renewing = p
    return p
  }

  private async renewNow (): Promise<LoginResult> {
    const t = this.store.get()
    if (t !== undefined && t.refreshToken !== '') {
      try {
        const pair = await this.call<{ accessToken: string, refreshToken: string, expiresIn: number }>('POST', '/v1/auth/refresh', { refreshToken: t.refreshToken })
        return this.store.save(pair)
      } catch (err) {
        // A dead refresh token (expired, revoked, reused) means a new login; anything else is the caller's error.
        if (!(err instanceof ApiError && err.status === 401)) throw err
        this.store.clear()
      }
    }
    return await this.wxLogin()
  }

  /**
   * A step-up: a fresh wx.login code sent to /v1/auth/reauth re-issues this session's access token with its sign-in
   * time now (the refresh token stays). Staff with a password use the API's password + TOTP form instead.
   */
  async stepUp (): Promise<void> {
    const t = this.store.get()
    if (t === undefined) { await this.login(); return }
    const code = await this.wxCode()
    const r = await this.request<{ accessToken: string, expiresIn: number }>({ method: 'POST', path: '/v1/auth/reauth', data: { code } })
    this.store.save({ accessToken: r.accessToken, refreshToken: t.refreshToken, expiresIn: r.expiresIn })
  }

  private async wxCode (): Promise<string> {
    return await new Promise<string>((resolve, reject) => {
      this.wx.login({ success: (r) => { resolve(r.code) }, fail: (e) => { reject(new WxError(e.errMsg)) } })
    })
  }

  private async wxLogin (): Promise<LoginResult> {
    for (let attempt = 0; ; attempt++) {
      const code = await this.wxCode()
      try {
        const r = await this.call<{ accessToken: string, refreshToken: string, expiresIn: number, user: UserProfile }>('POST', '/v1/auth/wechat/login', { code })
        return { ...this.store.save(r), user: r.user }
      } catch (err) {
        // A code is single-use and lives five minutes: one fresh wx.login, never a loop against WeChat's quota.
        if (attempt === 0 && err instanceof ApiError && SPENT_CODE.indexOf(err.code) >= 0) continue
        throw err
      }
    }
  }

  /** A public call with the same retries as request(), without the token logic. */
  private async call<T> (method: Method, path: string, data: WechatMiniprogram.IAnyObject): Promise<T> {
    return await this.request<T>({ method, path, data, auth: false })
  }

  private send (method: Method, path: string, data: WechatMiniprogram.IAnyObject | undefined, header: Record<string, string>): Promise<RawResponse> {
    return this.limiter.run(() => new Promise<RawResponse>((resolve, reject) => {
      const options: WechatMiniprogram.RequestOption = {
        url: this.opts.baseUrl + path,
        method,
        header,
        timeout: this.opts.timeout,
        dataType: 'json',
        success: (res) => { resolve({ statusCode: res.statusCode, data: res.data, header: res.header as Record<string, unknown> }) },
        fail: (e) => { reject(new NetworkError(e.errMsg)) }
      }
      if (data !== undefined) options.data = data
      this.wx.request(options)
    }))
  }
}
