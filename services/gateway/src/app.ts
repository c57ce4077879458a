import type { FastifyInstance } from 'fastify'
import { hostname } from 'node:os'
import { foundation, packageInfo, redis } from '@wxmp/core'
import { nats } from '@wxmp/nats'
import type { Config } from './config.js'
import pingRoutes from './routes/ping.js'

export const SERVICE = { name: 'gateway', version: packageInfo(import.meta.url).version }

/** The public API: every route maps to a NATS request; the gateway owns no data. */
export default async function app (fastify: FastifyInstance, opts: { config: Config }): Promise<void> {
  const { config } = opts
  await fastify.register(foundation)
  await fastify.register(redis, { url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX })
  await fastify.register(nats, {
    servers: config.NATS_URL,
    connectionName: `gateway@${hostname()}:${process.pid}`,
    prefix: config.NATS_SUBJECT_PREFIX,
    requestTimeoutMs: config.NATS_REQUEST_TIMEOUT_MS
  })
  await fastify.register(pingRoutes, { gateway: SERVICE })
}
