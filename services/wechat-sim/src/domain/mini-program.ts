import { createHmac } from 'node:crypto'
import { newAccessToken, newLoginCode, newOpenid, newPhoneCode, newSessionKey } from './ids.js'
import { sameString } from './signing.js'

export interface User {
  openid: string
  unionid?: string
  /** The current session_key; a new login replaces it and the old one stops checking out. */
  sessionKey?: string
  /** WeChat's risk control refuses this user's logins (40226). */
  blocked: boolean
}

interface Code { openid: string, expiresAt: number, used: boolean }
interface PhoneCode extends Code { phoneNumber: string, purePhoneNumber: string, countryCode: string }
interface Token { kind: 'stable' | 'classic', expiresAt: number, revoked: boolean }

/** A WeChat error answer: errcode and its errmsg (the rid is added when answering). */
export interface WxError { errcode: number, errmsg: string }

export type Result<T> = { ok: T } | { error: WxError }

const DAY_MS = 24 * 3600_000
// stable_token renews a token in its last 5 minutes and keeps the old one valid until it expires.
const STABLE_RENEW_MS = 300_000
// A new /cgi-bin/token leaves the previous one valid for 5 more minutes.
const CLASSIC_OVERLAP_MS = 300_000

/**
 * The mini-program side of WeChat: users, single-use login and phone codes, session keys and access tokens.
 * Every operation runs synchronously, so concurrent requests cannot both spend one code.
 */
export class MiniProgramState {
  readonly users = new Map<string, User>()
  private readonly loginCodes = new Map<string, Code>()
  private readonly phoneCodes = new Map<string, PhoneCode>()
  private readonly tokens = new Map<string, Token>()
  private stableCurrent: string | undefined
  private classicCurrent: string | undefined
  private lastForceRefresh = 0
  private forceRefreshes: number[] = []

  constructor (private readonly opts: { codeTtlMs: number, tokenTtlMs: number }) {}

  /** wx.login on the phone: a fresh code for the user (created on first use). */
  login (input: { openid?: string, unionid?: string, blocked?: boolean }): { code: string, openid: string, unionid?: string } {
    const openid = input.openid ?? newOpenid()
    let user = this.users.get(openid)
    if (user === undefined) {
      user = { openid, blocked: false }
      this.users.set(openid, user)
    }
    if (input.unionid !== undefined) user.unionid = input.unionid
    if (input.blocked !== undefined) user.blocked = input.blocked
    const code = newLoginCode()
    this.loginCodes.set(code, { openid, expiresAt: Date.now() + this.opts.codeTtlMs, used: false })
    return user.unionid === undefined ? { code, openid } : { code, openid, unionid: user.unionid }
  }

  /** code2Session: spends the code and starts a new session_key. */
  exchangeLoginCode (code: string): Result<{ openid: string, sessionKey: string, unionid?: string }> {
    const entry = this.loginCodes.get(code)
    if (entry === undefined || Date.now() > entry.expiresAt) return { error: { errcode: 40029, errmsg: 'invalid code' } }
    if (entry.used) return { error: { errcode: 40163, errmsg: 'code been used' } }
    entry.used = true
    const user = this.users.get(entry.openid) as User
    if (user.blocked) return { error: { errcode: 40226, errmsg: 'code blocked' } }
    user.sessionKey = newSessionKey()
    return { ok: user.unionid === undefined ? { openid: user.openid, sessionKey: user.sessionKey } : { openid: user.openid, sessionKey: user.sessionKey, unionid: user.unionid } }
  }

  /** The getPhoneNumber button on the phone: a code for the user's number. */
  phoneCode (input: { openid: string, phoneNumber: string, countryCode?: string }): { code: string } {
    const countryCode = input.countryCode ?? '86'
    let pure = input.phoneNumber.replace(/[\s-]/g, '')
    if (pure.startsWith('+')) {
      pure = pure.slice(1)
      if (pure.startsWith(countryCode)) pure = pure.slice(countryCode.length)
    }
    const code = newPhoneCode()
    this.phoneCodes.set(code, {
      openid: input.openid,
      expiresAt: Date.now() + this.opts.codeTtlMs,
      used: false,
      purePhoneNumber: pure,
      countryCode,
      phoneNumber: countryCode === '86' ? pure : `+${countryCode}${pure}`
    })
    return { code }
  }

  exchangePhoneCode (code: string): Result<{ phoneNumber: string, purePhoneNumber: string, countryCode: string }> {
    const entry = this.phoneCodes.get(code)
    // WeChat answers 40029 for an unknown, expired or already used phone code alike.
    if (entry === undefined || entry.used || Date.now() > entry.expiresAt) return { error: { errcode: 40029, errmsg: 'invalid code' } }
    entry.used = true
    return { ok: { phoneNumber: entry.phoneNumber, purePhoneNumber: entry.purePhoneNumber, countryCode: entry.countryCode } }
  }

  /**
   * WeChat replaces the user's session_key without the backend seeing a code (a wx.login on the phone whose code
   * went elsewhere): the key the backend holds stops checking out. False for an unknown or never signed-in user.
   */
  renewSessionKey (openid: string): boolean {
    const user = this.users.get(openid)
    if (user?.sessionKey === undefined) return false
    user.sessionKey = newSessionKey()
    return true
  }

  checkSession (openid: string, signature: string): boolean {
    const key = this.users.get(openid)?.sessionKey
    if (key === undefined) return false
    return sameString(createHmac('sha256', key).update('').digest('hex'), signature.toLowerCase())
  }

  /** stable_token: the same token while it has more than 5 minutes left; force_refresh revokes every older one. */
  stableToken (forceRefresh: boolean): Result<{ token: string, expiresIn: number, issued: boolean }> {
    const now = Date.now()
    const current = this.stableCurrent === undefined ? undefined : this.tokens.get(this.stableCurrent)
    if (forceRefresh) {
      this.forceRefreshes = this.forceRefreshes.filter((t) => now - t < DAY_MS)
      // WeChat does not refresh again within 30 s; it hands back the current token.
      if (current !== undefined && !current.revoked && now - this.lastForceRefresh < 30_000) {
        return { ok: { token: this.stableCurrent as string, expiresIn: Math.floor((current.expiresAt - now) / 1000), issued: false } }
      }
      if (this.forceRefreshes.length >= 20) return { error: { errcode: 45009, errmsg: 'reach max api daily quota limit' } }
      this.forceRefreshes.push(now)
      this.lastForceRefresh = now
      for (const t of this.tokens.values()) if (t.kind === 'stable') t.revoked = true
    } else if (current !== undefined && !current.revoked && current.expiresAt - now > STABLE_RENEW_MS) {
      return { ok: { token: this.stableCurrent as string, expiresIn: Math.floor((current.expiresAt - now) / 1000), issued: false } }
    }
    const token = newAccessToken()
    this.tokens.set(token, { kind: 'stable', expiresAt: now + this.opts.tokenTtlMs, revoked: false })
    this.stableCurrent = token
    return { ok: { token, expiresIn: Math.floor(this.opts.tokenTtlMs / 1000), issued: true } }
  }

  /** /cgi-bin/token: a new token on every call; the previous one lasts 5 more minutes. */
  classicToken (): { token: string, expiresIn: number } {
    const now = Date.now()
    const previous = this.classicCurrent === undefined ? undefined : this.tokens.get(this.classicCurrent)
    if (previous !== undefined) previous.expiresAt = Math.min(previous.expiresAt, now + CLASSIC_OVERLAP_MS)
    const token = newAccessToken()
    this.tokens.set(token, { kind: 'classic', expiresAt: now + this.opts.tokenTtlMs, revoked: false })
    this.classicCurrent = token
    return { token, expiresIn: Math.floor(this.opts.tokenTtlMs / 1000) }
  }

  /** Whether an API call may use `token`: 41001 missing, 40001 invalid or revoked, 42001 expired. */
  checkToken (token: string | undefined): WxError | undefined {
    if (token === undefined || token === '') return { errcode: 41001, errmsg: 'access_token missing' }
    const entry = this.tokens.get(token)
    if (entry === undefined || entry.revoked) return { errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' }
    if (Date.now() > entry.expiresAt) return { errcode: 42001, errmsg: 'access_token expired' }
    return undefined
  }

  /** Expires a token early, so tests can see 42001 without waiting two hours. */
  expireToken (token: string): boolean {
    const entry = this.tokens.get(token)
    if (entry === undefined) return false
    entry.expiresAt = Date.now() - 1
    return true
  }

  /** Forgets codes and tokens long past their lifetime, so a long-running simulator does not grow. */
  sweep (): void {
    const cutoff = Date.now() - this.opts.codeTtlMs
    for (const [k, v] of this.loginCodes) if (v.expiresAt < cutoff) this.loginCodes.delete(k)
    for (const [k, v] of this.phoneCodes) if (v.expiresAt < cutoff) this.phoneCodes.delete(k)
    const tokenCutoff = Date.now() - DAY_MS
    for (const [k, v] of this.tokens) if (v.expiresAt < tokenCutoff) this.tokens.delete(k)
  }
}
