import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import { RemoteError, publicError, type Log, type TraceContext } from '@wxmp/core'
import { Contracts, type ClientInfo, type LoginResponse } from '@wxmp/contracts'
import type { NatsClient } from '@wxmp/nats'
import { WechatErrors } from '@wxmp/wechat'
import { AuthErrors } from '../errors.js'
import type { DataBox } from './data-box.js'
import type { Sessions } from './sessions.js'

/** What login needs from WeChat; the @wxmp/wechat MiniProgramClient provides it. */
export interface WechatIdentityApi {
  code2Session: (code: string) => Promise<{ openid: string, sessionKey: string, unionid?: string }>
}

export interface WechatLoginSettings {
  appid: string
  /** A repeat of a code inside this window gets the first answer; later, AUTH_CODE_USED. */
  replayWindowSeconds: number
  sessionKeyTtlSeconds: number
}

type CodeState =
  | { state: 'pending' }
  | { state: 'done', at: number, sealed: string }
  | { state: 'failed', error: { code: string, message: string, statusCode: number } }

// A wx.login code lives 5 minutes; its marker lives as long, so a late replay is recognised.
const CODE_LIFETIME_SECONDS = 300
const WAIT_STEP_MS = 25
const WAIT_LIMIT_MS = 10_000

/**
 * wx.login -> code2Session -> user.ensure -> a session. A code is exchanged with WeChat at most once:
 * the first request claims it in Redis, concurrent duplicates (double tap, client retry) wait for and
 * share its answer, and a replay after the window is AUTH_CODE_USED. If Redis is down, requests go
 * straight to WeChat, which refuses a reused code itself (40163 -> AUTH_CODE_USED).
 */
export class WechatLogin {
  constructor (
    private readonly wechat: WechatIdentityApi,
    /** Finds or creates the user of the WeChat identity (user.ensure). */
    private readonly nats: NatsClient,
    private readonly sessions: Sessions,
    private readonly redis: Redis,
    private readonly box: DataBox,
    private readonly settings: WechatLoginSettings,
    private readonly log: Log,
    /** Refuses a user who may not sign in (403 ACCOUNT_DISABLED) before a step-up; a login's session refuses them itself. */
    private readonly admit: (userId: string) => Promise<void> = async () => {}
  ) {}

  async login (code: string, trace: TraceContext, client: ClientInfo = {}): Promise<LoginResponse> {
    const digest = createHash('sha256').update(code).digest('hex')
    const key = `login:code:${digest}`
    const started = Date.now()
    for (;;) {
      let claimed: string | null
      try {
        claimed = await this.redis.set(key, JSON.stringify({ state: 'pending' } satisfies CodeState), 'EX', CODE_LIFETIME_SECONDS, 'NX')
      } catch (err) {
        this.log.warn({ err: { message: (err as Error).message } }, 'login code dedupe skipped: redis unavailable')
        return await this.exchange(code, trace, client)
      }
      if (claimed === 'OK') return await this.firstLogin(key, digest, code, trace, client)
      const seen = await this.awaitOutcome(key, digest, started)
      if (seen !== 'retry') return seen
    }
  }

  private async firstLogin (key: string, digest: string, code: string, trace: TraceContext, client: ClientInfo): Promise<LoginResponse> {
    try {
      const result = await this.exchange(code, trace, client)
      const done: CodeState = { state: 'done', at: Date.now(), sealed: this.box.seal(JSON.stringify(result), `login:${digest}`) }
      await this.redis.set(key, JSON.stringify(done), 'EX', CODE_LIFETIME_SECONDS).catch(() => {})
      return result
    } catch (err) {
      const { statusCode, body } = publicError(err)
      if (statusCode >= 500) {
        // WeChat was busy or unreachable: the code may still be good, so a retry may try again.
        await this.redis.del(key).catch(() => {})
      } else {
        const failed: CodeState = { state: 'failed', error: { code: body.code, message: body.message, statusCode } }
        await this.redis.set(key, JSON.stringify(failed), 'EX', CODE_LIFETIME_SECONDS).catch(() => {})
      }
      throw err
    }
  }

  /** Waits for the request that claimed the code; 'retry' when it gave the code back after a transient failure. */
  private async awaitOutcome (key: string, digest: string, started: number): Promise<LoginResponse | 'retry'> {
    for (;;) {
      const raw = await this.redis.get(key)
      if (raw === null) return 'retry'
      const st = JSON.parse(raw) as CodeState
      if (st.state === 'done') {
        if (Date.now() - st.at > this.settings.replayWindowSeconds * 1000) throw new WechatErrors.AuthCodeUsed()
        return JSON.parse(this.box.open(st.sealed, `login:${digest}`)) as LoginResponse
      }
      if (st.state === 'failed') throw new RemoteError(st.error.code, st.error.message, st.error.statusCode)
      if (Date.now() - started > WAIT_LIMIT_MS) throw new AuthErrors.LoginBusy()
      await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS))
    }
  }

  private async exchange (code: string, trace: TraceContext, client: ClientInfo): Promise<LoginResponse> {
    const { user, wx } = await this.identify(code, trace)
    // Opening the session refuses a disabled user (ACCOUNT_DISABLED) in the same statement, before the key is kept.
    const { sessionId, ...tokens } = await this.sessions.open(user.id, { method: 'wechat', role: 'buyer', amr: ['wechat'], client }, trace)
    await this.keepSessionKey(user.id, wx)
    this.log.info({ userId: user.id, sessionId }, 'wechat login')
    return { ...tokens, user }
  }

  /**
   * A step-up with a fresh wx.login code: true when the code belongs to `userId`'s WeChat identity. The code is spent
   * at WeChat like a login's, and the new session_key replaces the stored one (WeChat replaced it too).
   */
  async confirm (code: string, userId: string, trace: TraceContext): Promise<boolean> {
    const { user, wx } = await this.identify(code, trace)
    await this.admit(user.id)
    await this.keepSessionKey(user.id, wx)
    return user.id === userId
  }

  /** code2Session, then the user of that WeChat identity (created when new). */
  private async identify (code: string, trace: TraceContext): Promise<{ user: LoginResponse['user'], wx: { openid: string, sessionKey: string } }> {
    const wx = await this.wechat.code2Session(code)
    const identity: { appid: string, openid: string, unionid?: string } = { appid: this.settings.appid, openid: wx.openid }
    if (wx.unionid !== undefined) identity.unionid = wx.unionid
    const { user } = (await this.nats.request(Contracts.user.ensure, identity, trace)).data
    return { user, wx }
  }

  /** Stores the user's new session_key: it never leaves the server, sealed at rest, bound to this user, replaced on each login. */
  private async keepSessionKey (userId: string, wx: { openid: string, sessionKey: string }): Promise<void> {
    await this.redis.set(`session-key:${userId}`, this.box.seal(JSON.stringify({ openid: wx.openid, sessionKey: wx.sessionKey }), `session_key:${userId}`),
      'EX', this.settings.sessionKeyTtlSeconds).catch((err: Error) => { this.log.warn({ err: { message: err.message } }, 'session_key not cached: redis unavailable') })
  }

  /** Drops the user's cached session_key (WeChat replaced it, or the account is erased); a WeChat login stores a new one. */
  async forgetSessionKey (userId: string): Promise<void> {
    await this.redis.del(`session-key:${userId}`)
  }

  /** The server-side session_key of a user, for decrypting data they send; undefined when expired. */
  async sessionKeyOf (userId: string): Promise<{ openid: string, sessionKey: string } | undefined> {
    const sealed = await this.redis.get(`session-key:${userId}`)
    return sealed === null ? undefined : JSON.parse(this.box.open(sealed, `session_key:${userId}`)) as { openid: string, sessionKey: string }
  }
}
