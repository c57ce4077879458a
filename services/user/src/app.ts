import type { FastifyInstance } from 'fastify'
import { fileURLToPath } from 'node:url'
import { packageInfo } from '@wxmp/core'
import { serviceBase } from '@wxmp/service'
import type { Config } from './config.js'
import { ProfileCache } from './domain/profile-cache.js'
import { ProfileWrites } from './domain/profile-writes.js'
import { Users } from './domain/users.js'
import { userEndpoints } from './handlers/users.js'

export const SERVICE = { name: 'user', version: packageInfo(import.meta.url).version }
const migrationsDir = fileURLToPath(new URL('../src/db/migrations', import.meta.url))

/** The user service: profiles keyed by (appid, openid), served over NATS. */
export default async function app (fastify: FastifyInstance, opts: { config: Config }): Promise<void> {
  const { config } = opts
  await fastify.register(serviceBase, { service: SERVICE, config, migrationsDir, useRedis: false, useOutbox: true })
  const cache = new ProfileCache({
    maxEntries: config.USER_PROFILE_CACHE_MAX,
    ttlMs: config.USER_PROFILE_CACHE_TTL_S * 1000,
    // A write another replica takes commits within its caller's timeout, or its caller has given up on it.
    holdMs: config.NATS_REQUEST_TIMEOUT_MS
  })
  const writes = new ProfileWrites(cache, fastify.log)
  fastify.addHook('onReady', async () => { writes.start(fastify.nats, config.NATS_SUBJECT_PREFIX) })
  fastify.addHook('preClose', async () => { writes.stop() })
  fastify.natsServe(...userEndpoints(new Users(fastify.pg.pool, cache)))
}
