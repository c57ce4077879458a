import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import rateLimit, { type CreateRateLimitOptions } from '@fastify/rate-limit'
import type { Config } from '../config.js'
import { rateLimited } from '../errors.js'
import { limitsOf, type LimitClass } from '../edge-routes.js'
import { edgeStore, type StoreState } from './rate-limit-store.js'
import { clientKey } from './client-key.js'
import { businessCounter } from '@wxmp/core'

const rateLimitHits = businessCounter('gateway_rate_limit_hits_total', 'Requests refused with 429, by limit class and by where they were counted', ['limit', 'store'] as const)

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

export interface EdgeLimits {
  /** The per-IP hook of a class; runs before the token is looked at, so floods are refused cheaply. */
  ip: Record<Exclude<LimitClass, 'none'>, Hook>
  /** The per-user hook; runs after verification, keyed by the verified user id. */
  user: Hook
  /** Whether counting currently happens per process (Redis down). */
  state: StoreState
}

declare module 'fastify' {
  interface FastifyInstance {
    edgeLimits: EdgeLimits
  }
  interface FastifyRequest {
    /** Lowest remaining count reported so far, so the RateLimit headers describe the tightest limit. */
    rateLimitRemaining: number
  }
}

/**
 * Rate limits on @fastify/rate-limit with a Redis store shared by every replica. Limits are applied
 * by the route policy (edge-policy.ts) as route hooks rather than globally, because a request is
 * counted twice: per IP in its route's class before authentication, and per user after it.
 * Headers follow the IETF RateLimit draft (RateLimit-Limit/-Remaining/-Reset, Retry-After on 429).
 */
export const rateLimits = fp(async function rateLimits (app: FastifyInstance, opts: { config: Config }) {
  const { config } = opts
  const state: StoreState = { fallback: false }
  await app.register(rateLimit, {
    global: false,
    enableDraftSpec: true,
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    store: edgeStore(app.redis, app.log, state)
  })
  app.decorateRequest('rateLimitRemaining', Number.POSITIVE_INFINITY)
  const limits = limitsOf(config)

  const hook = (name: string, max: number, keyGenerator?: (req: FastifyRequest) => string): Hook => {
    // nameSpace reaches the store's child(), so each class counts under keys of its own; the plugin's types leave it out.
    const options: CreateRateLimitOptions & { nameSpace: string } = {
      max,
      timeWindow: config.RATE_LIMIT_WINDOW_MS,
      nameSpace: `rl:${name}:`,
      ...(keyGenerator === undefined ? {} : { keyGenerator })
    }
    const limiter = app.createRateLimit(options)
    return async function rateLimitHook (request, reply) {
      const r = await limiter(request)
      if (r.isAllowed) return
      if (r.isExceeded) {
        rateLimitHits.inc({ limit: name, store: state.fallback ? 'local' : 'redis' })
        throw rateLimited(r.ttlInSeconds, { 'ratelimit-limit': String(r.max), 'ratelimit-remaining': '0', 'ratelimit-reset': String(r.ttlInSeconds) })
      }
      if (r.remaining < request.rateLimitRemaining) {
        request.rateLimitRemaining = r.remaining
        void reply.header('ratelimit-limit', r.max).header('ratelimit-remaining', r.remaining).header('ratelimit-reset', r.ttlInSeconds)
      }
    }
  }

  // An optional route called without a token has no user to count.
  const userHook = (inner: Hook): Hook => async function userRateLimit (request, reply) {
    if (request.trace.userId !== undefined) await inner(request, reply)
  }

  const byClient = (req: FastifyRequest): string => clientKey(req.ip)
  app.decorate('edgeLimits', {
    ip: {
      default: hook('ip', limits.default, byClient),
      login: hook('login', limits.login, byClient),
      refresh: hook('refresh', limits.refresh, byClient),
      phone: hook('phone', limits.phone, byClient),
      notify: hook('notify', limits.notify, byClient),
      probe: hook('probe', limits.probe, byClient),
      push: hook('push', limits.push, byClient)
    },
    user: userHook(hook('user', limits.user, (req) => req.trace.userId as string)),
    state
  })
}, { name: 'wxmp-gateway-rate-limits', fastify: '5.x', dependencies: ['wxmp-redis', 'wxmp-request-context'] })
