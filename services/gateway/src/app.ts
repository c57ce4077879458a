import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { hostname } from 'node:os'
import { foundation, packageInfo, redis } from '@wxmp/core'
import { nats } from '@wxmp/nats'
import type { Config } from './config.js'
import type { Tracing } from './telemetry.js'
import type { EdgeTable } from './edge-routes.js'
import { auth } from './plugins/auth.js'
import { docs } from './plugins/docs.js'
import { edgePolicy } from './plugins/edge-policy.js'
import { rateLimits } from './plugins/rate-limit.js'
import { security } from './plugins/security.js'
import { shedding } from './plugins/shedding.js'
import { upstream } from './plugins/upstream.js'
import { wxRequest } from './plugins/wx-request.js'
import pingRoutes from './routes/ping.js'
import readyzRoute from './routes/readyz.js'
import authRoutes from './routes/auth.js'
import userRoutes from './routes/users.js'
import paymentRoutes from './routes/payments.js'
import adminUserRoutes from './routes/admin-users.js'
import adminOrderRoutes from './routes/admin-orders.js'
import adminStaffRoutes from './routes/admin-staff.js'
import wechatNotifyRoutes from './routes/wechat-notify.js'
import wechatPushRoutes from './routes/wechat-push.js'

export const SERVICE = { name: 'gateway', version: packageInfo(import.meta.url).version }

export interface GatewayOptions {
  config: Config
  /** OpenTelemetry export, when configured (telemetry.ts). */
  tracing?: Tracing
  /** Replaces EDGE_ROUTES; for tests and benchmarks that add routes of their own. */
  edgeRoutes?: EdgeTable
  /** More route plugins, registered under the same edge policy (tests, benchmarks). */
  routes?: FastifyPluginAsync[]
}

/** The public API: every route maps to a NATS request; the gateway owns no data. */
export default async function app (fastify: FastifyInstance, opts: GatewayOptions): Promise<void> {
  const { config } = opts
  // /readyz is served below, under the edge policy, so the public listener rate-limits it (routes/readyz.ts).
  await fastify.register(foundation, { readyz: false })
  if (opts.tracing !== undefined) await opts.tracing.register(fastify)
  await fastify.register(security, { config, publicHttpsPort: config.PUBLIC_HTTPS_PORT })
  await fastify.register(shedding, { config })
  await fastify.register(wxRequest)
  await fastify.register(redis, { url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX })
  await fastify.register(nats, {
    servers: config.NATS_URL,
    connectionName: `gateway@${hostname()}:${process.pid}`,
    identity: 'gateway',
    prefix: config.NATS_SUBJECT_PREFIX,
    requestTimeoutMs: config.NATS_REQUEST_TIMEOUT_MS,
    nkeySeedFile: config.NATS_NKEY_SEED_FILE,
    allowAnonymous: config.NATS_ALLOW_ANONYMOUS,
    tlsCaFile: config.NATS_TLS_CA_FILE
  })
  await fastify.register(rateLimits, { config })
  await fastify.register(auth, { config })
  await fastify.register(upstream, opts.tracing === undefined ? {} : { tracing: opts.tracing })
  await fastify.register(edgePolicy, opts.edgeRoutes === undefined ? { config } : { config, edgeRoutes: opts.edgeRoutes })
  await fastify.register(docs, { version: SERVICE.version })

  await fastify.register(readyzRoute)
  await fastify.register(pingRoutes, { gateway: SERVICE })
  await fastify.register(wechatNotifyRoutes)
  await fastify.register(wechatPushRoutes)
  await fastify.register(authRoutes)
  await fastify.register(userRoutes)
  await fastify.register(paymentRoutes)
  await fastify.register(adminUserRoutes)
  await fastify.register(adminOrderRoutes)
  await fastify.register(adminStaffRoutes)
  for (const routes of opts.routes ?? []) await fastify.register(routes)
}
