import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { hostname } from 'node:os'
import { admin, adminToken, foundation, postgres, redis } from '@wxmp/core'
import { nats } from '@wxmp/nats'
import type { ServiceBaseConfig } from './config.js'
import { pingEndpoint } from './ping.js'
import { OUTBOX_MIGRATIONS_DIR, outbox } from './outbox.js'

export interface ServiceBaseOptions {
  /** Short service name (`auth`) and version, as announced on NATS and in /v1/ping. */
  service: { name: string, version: string }
  config: ServiceBaseConfig
  /** Folder of this service's SQL migrations. */
  migrationsDir: string
  /** Whether this service keeps anything in Redis. */
  useRedis: boolean
  /** Whether this service publishes events through a transactional outbox (its table is migrated from here). */
  useOutbox?: boolean
}

/**
 * Everything a backend service stands on: trace context and error envelope, /healthz and /readyz,
 * one Postgres pool (migrated), one Redis client, one NATS connection serving `<name>.ping`.
 */
export const serviceBase = fp(async function serviceBase (app: FastifyInstance, opts: ServiceBaseOptions) {
  const { config } = opts
  await app.register(foundation)
  // This HTTP listener is the admin port: metrics and profiling live here, never behind the gateway.
  const token = adminToken(config)
  await app.register(admin, { service: opts.service.name, ...(token === undefined ? {} : { token }) })
  await app.register(postgres, {
    connectionString: config.DATABASE_URL,
    max: config.DATABASE_POOL_MAX,
    create: config.DATABASE_CREATE,
    ...(config.DATABASE_MIGRATE ? { migrationsDir: opts.useOutbox === true ? [opts.migrationsDir, OUTBOX_MIGRATIONS_DIR] : opts.migrationsDir } : {})
  })
  if (opts.useRedis) await app.register(redis, { url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX })
  await app.register(nats, {
    servers: config.NATS_URL,
    connectionName: `${opts.service.name}@${hostname()}:${process.pid}`,
    service: opts.service,
    prefix: config.NATS_SUBJECT_PREFIX,
    requestTimeoutMs: config.NATS_REQUEST_TIMEOUT_MS,
    nkeySeedFile: config.NATS_NKEY_SEED_FILE,
    allowAnonymous: config.NATS_ALLOW_ANONYMOUS,
    tlsCaFile: config.NATS_TLS_CA_FILE
  })
  if (opts.useOutbox === true) await app.register(outbox, { prefix: config.NATS_SUBJECT_PREFIX, replicas: config.NATS_JS_REPLICAS, connectionString: config.DATABASE_URL })
  app.natsServe(pingEndpoint(opts.service))
}, { name: 'wxmp-service-base', fastify: '5.x' })
