import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import { annotate, type Log } from '@wxmp/core'
import { WechatErrors } from '../errors.js'
import { sleep } from '../http.js'

/** A token as kept in Redis: when it stops working, and when a replica should start replacing it. */
export interface CachedToken {
  token: string
  expiresAt: number
  refreshAt: number
}

export interface AccessTokenCacheOptions {
  redis: Redis
  appid: string
  log: Log
  /** Fetches a fresh token from WeChat; called by at most one replica at a time. */
  fetch: () => Promise<{ token: string, expiresInSeconds: number, fetchedAt: number }>
  /** Start replacing a token this long before it expires. */
  refreshAheadMs: number
  /** How long the refresh lock is held at most, should its holder die. */
  lockTtlMs: number
  /** How long a caller waits for another replica's refresh before giving up. */
  waitMs: number
}

// Treat a token as unusable this long before WeChat's expiry, for clock skew and the call that uses it.
const EXPIRY_MARGIN_MS = 10_000

const RELEASE_LOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
const DROP_IF_SAME = "if redis.call('hget', KEYS[1], 'token') == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

/**
 * The server access_token shared by every replica through Redis. Exactly one replica refreshes at a time
 * (a lock with an owner id); the others keep using the still-valid token, or wait for the new one when there is
 * none. A token WeChat rejected is dropped only if it is still the cached one, so a late failure never throws
 * away a newer token another replica just fetched.
 */
export class AccessTokenCache {
  private readonly key: string
  private readonly lockKey: string

  constructor (private readonly opts: AccessTokenCacheOptions) {
    this.key = `wechat:access_token:${opts.appid}`
    this.lockKey = `wechat:access_token:${opts.appid}:lock`
  }

  async read (): Promise<CachedToken | undefined> {
    const [token, expiresAt, refreshAt] = await this.opts.redis.hmget(this.key, 'token', 'expiresAt', 'refreshAt')
    if (token === null || token === undefined || expiresAt === null || refreshAt === null) return undefined
    return { token, expiresAt: Number(expiresAt), refreshAt: Number(refreshAt) }
  }

  async get (): Promise<string> {
    try {
      return await this.shared()
    } catch (err) {
      if (typeof (err as { statusCode?: unknown }).statusCode === 'number') throw err
      // Redis is unreachable. A plain stable_token call never invalidates a token, so fetching without the
      // cache costs WeChat quota but breaks nobody; it beats failing every login until Redis is back.
      this.opts.log.warn({ err: { message: (err as Error).message } }, 'access_token cache unavailable; fetching from WeChat directly')
      return (await this.opts.fetch()).token
    }
  }

  private async shared (): Promise<string> {
    const deadline = Date.now() + this.opts.waitMs
    let pause = 20
    for (;;) {
      const cached = await this.read()
      if (cached !== undefined && Date.now() < cached.refreshAt) return cached.token
      const usable = cached !== undefined && Date.now() < cached.expiresAt - EXPIRY_MARGIN_MS ? cached : undefined

      const owner = await this.lock()
      if (owner !== undefined) {
        try {
          return await this.refresh(usable)
        } finally {
          await this.unlock(owner)
        }
      }
      // Another replica is refreshing: the old token still works, or wait for the new one.
      if (usable !== undefined) return usable.token
      if (Date.now() >= deadline) {
        throw annotate(new WechatErrors.Unavailable(), { details: { reason: 'access_token refresh by another replica did not finish in time' } })
      }
      await sleep(pause)
      pause = Math.min(pause * 2, 200)
    }
  }

  /** Forgets `token` if it is still the cached one; returns whether it was. */
  async drop (token: string): Promise<boolean> {
    try {
      return await this.opts.redis.eval(DROP_IF_SAME, 1, this.key, token) === 1
    } catch (err) {
      this.opts.log.warn({ err: { message: (err as Error).message } }, 'access_token cache unavailable; nothing to drop')
      return false
    }
  }

  private async refresh (usable: CachedToken | undefined): Promise<string> {
    // Re-read under the lock: a replica may have stored a fresh token between our read and our lock.
    const current = await this.read()
    if (current !== undefined && Date.now() < current.refreshAt) return current.token
    try {
      const fresh = await this.opts.fetch()
      const expiresAt = fresh.fetchedAt + fresh.expiresInSeconds * 1000
      const now = Date.now()
      // stable_token hands out a new token only in the last 5 minutes; never plan a refresh sooner than that
      // would help, nor later than the token lasts.
      const refreshAt = Math.min(expiresAt - EXPIRY_MARGIN_MS, Math.max(expiresAt - this.opts.refreshAheadMs, now + Math.min(60_000, (expiresAt - now) / 2)))
      await this.opts.redis.multi()
        .hset(this.key, 'token', fresh.token, 'expiresAt', String(expiresAt), 'refreshAt', String(refreshAt))
        .pexpireat(this.key, expiresAt)
        .exec()
      this.opts.log.info({ appid: this.opts.appid, expiresInSeconds: fresh.expiresInSeconds }, 'wechat access_token refreshed')
      return fresh.token
    } catch (err) {
      if (usable !== undefined) {
        this.opts.log.warn({ err: { code: (err as { code?: string }).code, message: (err as Error).message } }, 'wechat access_token refresh failed; the current token is still valid')
        return usable.token
      }
      throw err
    }
  }

  private async lock (): Promise<string | undefined> {
    const owner = randomBytes(12).toString('hex')
    const ok = await this.opts.redis.set(this.lockKey, owner, 'PX', this.opts.lockTtlMs, 'NX')
    return ok === 'OK' ? owner : undefined
  }

  private async unlock (owner: string): Promise<void> {
    try {
      await this.opts.redis.eval(RELEASE_LOCK, 1, this.lockKey, owner)
    } catch (err) {
      // The lock expires on its own; a failed release only delays the next refresh.
      this.opts.log.warn({ err: { message: (err as Error).message } }, 'wechat access_token lock release failed')
    }
  }
}
