import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import fastifyRedis from '@fastify/redis'
import { observedGauge } from './metrics.js'

export interface RedisOptions {
  url: string
  /** Prefix of every key this process writes. */
  keyPrefix: string
}

/**
 * One ioredis client per process. Commands fail fast while disconnected instead of queueing,
 * so callers can fall back (rate limits fail open) rather than hang.
 */
export const redis = fp(async function redis (app: FastifyInstance, opts: RedisOptions) {
  await app.register(fastifyRedis, {
    url: opts.url,
    keyPrefix: opts.keyPrefix,
    enableOfflineQueue: false,
    // Commands issued in the same tick (many concurrent requests each counting a rate limit) share one write.
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 3000,
    retryStrategy: (times: number) => Math.min(times * 200, 2000)
  })
  app.redis.on('error', (err: Error) => app.log.warn({ err: { message: err.message } }, 'redis error'))
  const client = app.redis
  observedGauge('redis_connected', '1 while the Redis connection is ready', [], (g) => { g.set(client.status === 'ready' ? 1 : 0) })
  app.readiness?.add('redis', async () => app.redis.status === 'ready' && (await app.redis.ping()) === 'PONG')
}, { name: 'wxmp-redis', fastify: '5.x', dependencies: ['wxmp-health'] })
