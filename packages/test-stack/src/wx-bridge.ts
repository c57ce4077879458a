import https from 'node:https'
import { stringify } from 'node:querystring'

/** wx.request's methods; anything else fails with `request:fail method is invalid` before a byte is sent. */
export const WX_METHODS = ['OPTIONS', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'TRACE', 'CONNECT']

type Callbacks<S> = { success?: (r: S) => void, fail?: (e: { errMsg: string }) => void, complete?: (r: unknown) => void }

export interface BridgedRequest { method: string, url: string, header: Record<string, string>, body: string }

export interface WxBridgeOptions {
  /** Origins configured as request domains (the mini-program admin console's "request 合法域名"). */
  requestDomains: string[]
  /** PEM of the only CA wx.request trusts. */
  ca: string
  /** Base URL of the WeChat simulator (its phone-side /sim API). */
  simUrl: string
  /** The WeChat user on this phone; the simulator makes one on the first wx.login when not given. */
  openid?: string
}

/** A `wx` that reaches a stack the way WeChat's runtime reaches a deployed backend, with counters for tests. */
export interface WxBridge {
  wx: Record<string, (...args: any[]) => any>
  /** wx storage, kept across "launches" that reuse the bridge. */
  storage: Map<string, unknown>
  openid: string | undefined
  /** Every wx.request that went out, in order. */
  requests: BridgedRequest[]
  /** wx.login calls. */
  logins: number
  /** What the buyer does on the next payment sheets: pay or close it. */
  payment: 'pay' | 'cancel'
  /** The next request that matches reaches the server, but its answer is lost: the page sees `request:fail`. */
  loseAnswer: (match: (r: BridgedRequest) => boolean) => void
  /** A new launch of the mini-program on the same phone: same storage and WeChat user, fresh counters. */
  relaunch: () => void
}

function clone<T> (v: T): T {
  return v === undefined ? v : JSON.parse(JSON.stringify(v)) as T
}

/** A wx object backed by real HTTPS to the gateway and by the simulator for WeChat's own APIs. */
export function wxBridge (opts: WxBridgeOptions): WxBridge {
  const agent = new https.Agent({ keepAlive: true, ca: opts.ca, maxSockets: 10 })
  const lose: Array<(r: BridgedRequest) => boolean> = []

  async function sim (path: string, body: unknown): Promise<any> {
    const res = await fetch(opts.simUrl + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    return await res.json()
  }

  function request (o: { url: string, method?: string, data?: unknown, header?: Record<string, unknown>, timeout?: number, dataType?: string } & Callbacks<{ statusCode: number, data: unknown, header: Record<string, unknown>, errMsg: string }>): { abort: () => void } {
    let aborted = false
    const req = { abort: () => { aborted = true } }
    const fail = (errMsg: string): void => { setTimeout(() => { o.fail?.({ errMsg }); o.complete?.({ errMsg }) }, 0) }
    const method = (o.method ?? 'GET').toUpperCase()
    if (!WX_METHODS.includes(method)) { fail('request:fail method is invalid'); return req }
    let url: URL
    try { url = new URL(o.url) } catch { fail('request:fail invalid url'); return req }
    if (url.protocol !== 'https:' || !opts.requestDomains.includes(url.origin)) { fail('request:fail url not in domain list'); return req }
    const header: Record<string, string> = { 'content-type': 'application/json' }
    for (const [k, v] of Object.entries(o.header ?? {})) header[k.toLowerCase()] = String(v)
    let body = ''
    // WeChat: GET data goes into the query string; otherwise JSON, or form-encoded for that content-type.
    if (o.data !== undefined) {
      if (method === 'GET' && typeof o.data === 'object' && o.data !== null) {
        const q = stringify(o.data as Record<string, string>)
        if (q !== '') url.search = url.search === '' ? q : `${url.search}&${q}`
      } else if (typeof o.data === 'string') body = o.data
      else if (header['content-type']?.startsWith('application/x-www-form-urlencoded') === true) body = stringify(o.data as Record<string, string>)
      else body = JSON.stringify(o.data)
    }
    const record: BridgedRequest = { method, url: url.toString(), header, body }
    bridge.requests.push(record)
    const lost = lose.findIndex((m) => m(record))
    if (lost >= 0) lose.splice(lost, 1)
    const r = https.request(url, { method, agent, headers: { ...header, 'content-length': String(Buffer.byteLength(body)) }, timeout: o.timeout ?? 60_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        if (aborted) { fail('request:fail abort'); return }
        if (lost >= 0) { fail('request:fail socket hang up'); return }
        const text = Buffer.concat(chunks).toString('utf8')
        let data: unknown = text
        if ((o.dataType ?? 'json') === 'json') { try { data = JSON.parse(text) } catch { data = text } }
        const result = { statusCode: res.statusCode ?? 0, data, header: { ...res.headers }, errMsg: 'request:ok' }
        o.success?.(result)
        o.complete?.(result)
      })
    })
    r.on('timeout', () => { r.destroy(new Error('timeout')) })
    r.on('error', (err) => { fail(err.message === 'timeout' ? 'request:fail timeout' : `request:fail ${err.message}`) })
    r.end(body)
    return req
  }

  function login (o: Callbacks<{ code: string, errMsg: string }> = {}): void {
    bridge.logins++
    sim('/sim/wx-login', bridge.openid === undefined ? {} : { openid: bridge.openid }).then((r: { code?: string, openid?: string }) => {
      if (typeof r.code !== 'string') throw new Error('no code')
      bridge.openid = r.openid
      const result = { code: r.code, errMsg: 'login:ok' }
      o.success?.(result); o.complete?.(result)
    }).catch(() => { const e = { errMsg: 'login:fail' }; o.fail?.(e); o.complete?.(e) })
  }

  function requestPayment (o: { timeStamp: string, nonceStr: string, package: string, signType: string, paySign: string } & Callbacks<{ errMsg: string }>): void {
    const params = { timeStamp: o.timeStamp, nonceStr: o.nonceStr, package: o.package, signType: o.signType, paySign: o.paySign }
    sim('/sim/request-payment', { ...params, action: bridge.payment }).then((r: { errMsg?: string }) => {
      const errMsg = typeof r.errMsg === 'string' ? r.errMsg : 'requestPayment:fail'
      if (errMsg === 'requestPayment:ok') { o.success?.({ errMsg }) } else o.fail?.({ errMsg })
      o.complete?.({ errMsg })
    }).catch(() => { const e = { errMsg: 'requestPayment:fail' }; o.fail?.(e); o.complete?.(e) })
  }

  // wx.requestVirtualPayment: the simulator's WeChat checks paySig and the user-state signature of this phone's user.
  function requestVirtualPayment (o: { mode: string, signData: string, paySig: string, signature: string } & Callbacks<{ errMsg: string, errCode?: number }>): void {
    sim('/sim/virtual-pay', { openid: bridge.openid, mode: o.mode, signData: o.signData, paySig: o.paySig, signature: o.signature }).then((r: { errMsg?: string, errCode?: number }) => {
      const errMsg = typeof r.errMsg === 'string' ? r.errMsg : 'requestVirtualPayment:fail'
      if (errMsg === 'requestVirtualPayment:ok') { o.success?.({ errMsg }) } else o.fail?.({ errMsg, ...(r.errCode === undefined ? {} : { errCode: r.errCode }) })
      o.complete?.({ errMsg })
    }).catch(() => { const e = { errMsg: 'requestVirtualPayment:fail' }; o.fail?.(e); o.complete?.(e) })
  }

  const storage = new Map<string, unknown>()
  const bridge: WxBridge = {
    storage,
    openid: opts.openid,
    requests: [],
    logins: 0,
    payment: 'pay',
    loseAnswer: (match) => { lose.push(match) },
    relaunch: () => { bridge.requests = []; bridge.logins = 0 },
    wx: {
      request,
      login,
      requestPayment,
      requestVirtualPayment,
      getStorageSync: (key: string) => storage.has(key) ? clone(storage.get(key)) : '',
      setStorageSync: (key: string, value: unknown) => { storage.set(key, clone(value)) },
      removeStorageSync: (key: string) => { storage.delete(key) },
      clearStorageSync: () => { storage.clear() },
      showToast: () => {},
      showLoading: () => {},
      hideLoading: () => {},
      showModal: (o: Callbacks<{ confirm: boolean, cancel: boolean, errMsg: string }> = {}) => { o.success?.({ confirm: true, cancel: false, errMsg: 'showModal:ok' }) },
      navigateTo: (o: Callbacks<{ errMsg: string }> = {}) => { o.success?.({ errMsg: 'navigateTo:ok' }) },
      redirectTo: (o: Callbacks<{ errMsg: string }> = {}) => { o.success?.({ errMsg: 'redirectTo:ok' }) },
      reLaunch: (o: Callbacks<{ errMsg: string }> = {}) => { o.success?.({ errMsg: 'reLaunch:ok' }) }
    }
  }
  return bridge
}
