import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { FastifyRateLimitStoreCtor } from '@fastify/rate-limit'

type Redis = FastifyInstance['redis']

type Counter = { current: number, ttl: number }
type Callback = (err: Error | null, res?: Counter) => void

// Fixed window, as @fastify/rate-limit's Redis script: the first hit starts the window and sets its expiry.
const LUA = `
local current = redis.call('INCR', KEYS[1])
local ttl
if current == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
else
  ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
end
return {current, ttl}
`

/** Per-process counters used while Redis cannot answer; bounded so a flood of addresses cannot grow it without end. */
class LocalWindows {
  private readonly windows = new Map<string, { count: number, resetAt: number }>()
  constructor (private readonly maxKeys = 50000) {}

  incr (key: string, windowMs: number): Counter {
    const now = Date.now()
    let w = this.windows.get(key)
    if (w === undefined || w.resetAt <= now) {
      if (w === undefined && this.windows.size >= this.maxKeys) {
        const oldest = this.windows.keys().next().value
        if (oldest !== undefined) this.windows.delete(oldest)
      }
      w = { count: 0, resetAt: now + windowMs }
      this.windows.set(key, w)
    }
    w.count++
    return { current: w.count, ttl: w.resetAt - now }
  }
}

type RedisWithLimit = Redis & { wxmpRateLimit?: (key: string, windowMs: number, cb: (err: Error | null, res: [number, number]) => void) => void }

export interface StoreState {
  /** True while counting happens in this process because Redis is unreachable. */
  fallback: boolean
}

/**
 * A @fastify/rate-limit store counting in Redis, shared by every replica, that fails open to
 * per-process counters while Redis is unreachable: limits keep applying per replica instead of
 * either blocking every request or none.
 */
/** The key prefix of a limiter: @fastify/rate-limit hands each store child the limiter's merged options, `nameSpace` among them. */
function nameSpaceOf (params: object): string {
  return 'nameSpace' in params && typeof params.nameSpace === 'string' ? params.nameSpace : 'rl:'
}

export function edgeStore (redis: Redis, log: FastifyBaseLogger, state: StoreState = { fallback: false }): FastifyRateLimitStoreCtor {
  const r = redis as RedisWithLimit
  if (r.wxmpRateLimit === undefined) r.defineCommand('wxmpRateLimit', { numberOfKeys: 1, lua: LUA })
  const local = new LocalWindows()

  const fallBack = (err: Error | undefined): void => {
    if (state.fallback) return
    state.fallback = true
    log.warn({ err: err === undefined ? undefined : { message: err.message } }, 'rate limits counted per process: redis unavailable')
  }
  const recovered = (): void => {
    if (!state.fallback) return
    state.fallback = false
    log.info('rate limits counted in redis again')
  }

  return class EdgeStore {
    readonly ns: string
    constructor (params: object) { this.ns = nameSpaceOf(params) }

    incr (key: string, cb: Callback, windowMs: number): void {
      const k = this.ns + key
      if (r.status !== 'ready') {
        fallBack(undefined)
        cb(null, local.incr(k, windowMs))
        return
      }
      r.wxmpRateLimit?.(k, windowMs, (err, res) => {
        if (err !== null) {
          fallBack(err)
          cb(null, local.incr(k, windowMs))
          return
        }
        recovered()
        cb(null, { current: res[0], ttl: res[1] })
      })
    }

    child (params: object): EdgeStore {
      return new EdgeStore(params)
    }
  }
}
