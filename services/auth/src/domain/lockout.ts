import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import { annotate, type Log } from '@wxmp/core'
import { AuthErrors } from '../errors.js'
import { usernameKey } from './username-key.js'

export interface LockoutSettings {
  maxFailures: number
  windowSeconds: number
  lockSeconds: number
}

/**
 * Failed-login counting per username in Redis, keyed by usernameKey (the form lookup uses, so no other spelling
 * escapes a lock), whether or not the username exists, so a locked name looks the same for real and unknown accounts. If Redis is unreachable the check is skipped (fail open):
 * the gateway's per-IP rate limit still bounds guessing, and a Redis restart resetting counters is an
 * accepted trade-off.
 */
export class Lockout {
  constructor (private readonly redis: Redis, private readonly settings: LockoutSettings, private readonly log: Log) {}

  private key (kind: 'fails' | 'until', username: string): string {
    return `lockout:${kind}:${createHash('sha256').update(usernameKey(username)).digest('hex')}`
  }

  /** Throws 423 AUTH_LOCKED with Retry-After while the username is locked. */
  async assertOpen (username: string): Promise<void> {
    let ttl: number
    try {
      ttl = await this.redis.pttl(this.key('until', username))
    } catch (err) {
      this.log.warn({ err: { message: (err as Error).message } }, 'lockout check skipped: redis unavailable')
      return
    }
    if (ttl > 0) {
      throw annotate(new AuthErrors.Locked(), { headers: { 'retry-after': String(Math.ceil(ttl / 1000)) } })
    }
  }

  /** Counts a failure; the one that reaches the limit locks the username, and says so (true). */
  async failed (username: string): Promise<boolean> {
    const fails = this.key('fails', username)
    try {
      const [[, count]] = await this.redis.multi().incr(fails).expire(fails, this.settings.windowSeconds, 'NX').exec() as [[null, number], unknown]
      if (count >= this.settings.maxFailures) {
        await this.redis.multi().set(this.key('until', username), '1', 'EX', this.settings.lockSeconds).del(fails).exec()
        this.log.warn('username locked after repeated failures')
        return true
      }
    } catch (err) {
      this.log.warn({ err: { message: (err as Error).message } }, 'failure not counted: redis unavailable')
    }
    return false
  }

  async succeeded (username: string): Promise<void> {
    await this.redis.del(this.key('fails', username)).catch(() => {})
  }
}
