import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import fastifyRedis from '@fastify/redis'
import { Redis } from 'ioredis'
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
  const client = new Redis(opts.url, {
    keyPrefix: opts.keyPrefix,
    enableOfflineQueue: false,
    // Commands issued in the same tick (many concurrent requests each counting a rate limit) share one write.
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 3000,
    lazyConnect: true,
    retryStrategy: (times: number) => Math.min(times * 200, 2000)
  })
  client.on('error', (err: Error) => app.log.warn({ err: { message: err.message } }, 'redis error'))
  try {
    await client.connect()
  } catch (err) {
    client.disconnect()
    throw err
  }
  await app.register(fastifyRedis, { client })
  // Closed here rather than by @fastify/redis: QUIT on a connection that is down (Redis restarting) rejects,
  // and a rejected close hook leaves the rest of the app (pool, NATS) open and the process alive.
  app.addHook('onClose', async () => { await client.quit().catch(() => { client.disconnect() }) })
  observedGauge('redis_connected', '1 while the Redis connection is ready', [], (g) => { g.set(client.status === 'ready' ? 1 : 0) })
  app.readiness?.add('redis', async () => app.redis.status === 'ready' && (await app.redis.ping()) === 'PONG')
}, { name: 'wxmp-redis', fastify: '5.x', dependencies: ['wxmp-health'] })
