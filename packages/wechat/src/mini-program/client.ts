import type { Redis } from 'ioredis'
import { annotate, type Log } from '@wxmp/core'
import { WechatErrors } from '../errors.js'
import { callServerApi, withAccessToken, type ServerApiSettings, type WechatReply } from '../server-api.js'
import { AccessTokenCache } from './access-token.js'
import { sessionSignature } from './user-data.js'

export interface MiniProgramClientOptions {
  /** https://api.weixin.qq.com in production; the simulator's URL in development. */
  baseUrl: string
  appid: string
  secret: string
  /** An ioredis client with this service's key prefix; shared by every replica for the access_token. */
  redis: Redis
  log: Log
  /** Deadline of one HTTP call to WeChat. */
  timeoutMs?: number
  /** How many times a "system busy" (-1), a 5xx or a refused connection is retried. */
  retries?: number
  /** First backoff between retries; doubles each time, with jitter. */
  retryBaseMs?: number
  /** Start replacing the access_token this long before it expires (stable_token renews in its last 5 minutes). */
  tokenRefreshAheadMs?: number
  /** How long a caller waits for another replica that is fetching the access_token. */
  tokenWaitMs?: number
}

export interface Session {
  openid: string
  /** Secret: keep it on the server, never log it, never send it to the mini-program. */
  sessionKey: string
  unionid?: string
}

export interface PhoneNumber {
  /** With the country code for numbers outside mainland China. */
  phoneNumber: string
  purePhoneNumber: string
  countryCode: string
}

/** The mini-program server APIs, with WeChat's errcodes turned into catalogue errors. */
export class MiniProgramClient {
  private readonly baseUrl: string
  private readonly timeoutMs: number
  private readonly retries: number
  private readonly retryBaseMs: number
  readonly accessTokens: AccessTokenCache

  constructor (private readonly opts: MiniProgramClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '')
    this.timeoutMs = opts.timeoutMs ?? 5000
    this.retries = opts.retries ?? 2
    this.retryBaseMs = opts.retryBaseMs ?? 200
    const lockTtlMs = this.timeoutMs * (this.retries + 1) + this.retryBaseMs * 2 ** (this.retries + 1) + 1000
    this.accessTokens = new AccessTokenCache({
      redis: opts.redis,
      appid: opts.appid,
      log: opts.log,
      refreshAheadMs: opts.tokenRefreshAheadMs ?? 240_000,
      lockTtlMs,
      waitMs: opts.tokenWaitMs ?? lockTtlMs + 1000,
      fetch: async () => await this.fetchStableToken()
    })
  }

  /** Exchanges a wx.login code for the user's openid and session_key. */
  async code2Session (code: string): Promise<Session> {
    const query = new URLSearchParams({ appid: this.opts.appid, secret: this.opts.secret, js_code: code, grant_type: 'authorization_code' })
    const reply = await this.call('code2Session', 'GET', `/sns/jscode2session?${query.toString()}`)
    if (reply.errcode === 0) {
      const { openid, session_key: sessionKey, unionid } = reply.body
      if (typeof openid !== 'string' || typeof sessionKey !== 'string') throw this.upstream('code2Session', reply, 'success without openid or session_key')
      return typeof unionid === 'string' ? { openid, sessionKey, unionid } : { openid, sessionKey }
    }
    switch (reply.errcode) {
      case 40029: throw annotate(new WechatErrors.AuthCodeInvalid(), { details: { errcode: reply.errcode } })
      case 40163: throw annotate(new WechatErrors.AuthCodeUsed(), { details: { errcode: reply.errcode } })
      case 40226: throw annotate(new WechatErrors.AuthUserBlocked(), { details: { errcode: reply.errcode } })
      default: throw this.mapCommon('code2Session', reply)
    }
  }

  /** The server access_token, from the cache shared by every replica; fetched by one of them when needed. */
  async getAccessToken (): Promise<string> {
    return await this.accessTokens.get()
  }

  /** Exchanges a getPhoneNumber button code for the user's phone number. */
  async getPhoneNumber (code: string): Promise<PhoneNumber> {
    const reply = await this.withAccessToken('getPhoneNumber', async (token) =>
      await this.call('getPhoneNumber', 'POST', `/wxa/business/getuserphonenumber?access_token=${encodeURIComponent(token)}`, { code }))
    if (reply.errcode === 0) {
      const info = reply.body.phone_info as { phoneNumber?: unknown, purePhoneNumber?: unknown, countryCode?: unknown, watermark?: { appid?: unknown } } | undefined
      if (typeof info?.phoneNumber !== 'string' || typeof info.purePhoneNumber !== 'string') throw this.upstream('getPhoneNumber', reply, 'success without phone_info')
      if (info.watermark?.appid !== undefined && info.watermark.appid !== this.opts.appid) throw this.upstream('getPhoneNumber', reply, 'phone_info watermark is for another app')
      return { phoneNumber: info.phoneNumber, purePhoneNumber: info.purePhoneNumber, countryCode: String(info.countryCode ?? '') }
    }
    if (reply.errcode === 40029 || reply.errcode === 40163) throw annotate(new WechatErrors.PhoneCodeInvalid(), { details: { errcode: reply.errcode } })
    throw this.mapCommon('getPhoneNumber', reply)
  }

  /** Whether WeChat still considers `sessionKey` the user's current session_key. */
  async checkSessionKey (openid: string, sessionKey: string): Promise<boolean> {
    const query = new URLSearchParams({ openid, signature: sessionSignature(sessionKey), sig_method: 'hmac_sha256' })
    const reply = await this.withAccessToken('checkSessionKey', async (token) =>
      await this.call('checkSessionKey', 'GET', `/wxa/checksession?access_token=${encodeURIComponent(token)}&${query.toString()}`))
    if (reply.errcode === 0) return true
    if (reply.errcode === 87009) return false
    throw this.mapCommon('checkSessionKey', reply)
  }

  /**
   * Runs an access_token call; if WeChat rejects the token, drops it from the cache only if it is still the
   * cached one (another replica may already have replaced it) and retries once with the current token.
   */
  private async withAccessToken (api: string, fn: (token: string) => Promise<WechatReply>): Promise<WechatReply> {
    return await withAccessToken({ get: async () => await this.getAccessToken(), drop: async (token) => await this.accessTokens.drop(token) }, api, this.opts.log, fn)
  }

  private async fetchStableToken (): Promise<{ token: string, expiresInSeconds: number, fetchedAt: number }> {
    const fetchedAt = Date.now()
    const reply = await this.call('stable_token', 'POST', '/cgi-bin/stable_token', {
      grant_type: 'client_credential', appid: this.opts.appid, secret: this.opts.secret, force_refresh: false
    })
    if (reply.errcode !== 0) throw this.mapCommon('stable_token', reply)
    const { access_token: token, expires_in: expiresIn } = reply.body
    if (typeof token !== 'string' || token === '' || typeof expiresIn !== 'number' || expiresIn <= 0) throw this.upstream('stable_token', reply, 'success without access_token')
    return { token, expiresInSeconds: expiresIn, fetchedAt }
  }

  /**
   * One API call with bounded retries of what WeChat asks to retry (-1 "system busy", 5xx) and of refused
   * connections. A timeout is not retried: the call may have consumed a single-use code.
   */
  private async call (api: string, method: 'GET' | 'POST', pathAndQuery: string, json?: unknown): Promise<WechatReply> {
    const settings: ServerApiSettings = { timeoutMs: this.timeoutMs, retries: this.retries, retryBaseMs: this.retryBaseMs, log: this.opts.log }
    return await callServerApi(settings, { api, url: this.baseUrl + pathAndQuery, method, retryable: true, ...(json === undefined ? {} : { body: JSON.stringify(json) }) })
  }

  private mapCommon (api: string, reply: WechatReply): Error {
    switch (reply.errcode) {
      case 45011: return annotate(new WechatErrors.RateLimited(), { details: { api, errcode: reply.errcode }, headers: { 'retry-after': '60' } })
      case -1: return annotate(new WechatErrors.Unavailable(), { details: { api, errcode: reply.errcode } })
      default: return this.upstream(api, reply)
    }
  }

  private upstream (api: string, reply: WechatReply, why?: string): Error {
    // errmsg carries WeChat's rid, which WeChat support asks for; it never contains the request's secrets.
    return annotate(new WechatErrors.Upstream(), { details: { api, errcode: reply.errcode, errmsg: reply.errmsg, ...(why === undefined ? {} : { why }) } })
  }
}
