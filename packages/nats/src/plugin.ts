import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { NatsConnection } from '@nats-io/transport-node'
import { ConfigError, observedGauge } from '@wxmp/core'
import { connectNats } from './connection.js'
import { NatsClient } from './client.js'
import { NatsService, type EndpointDefinition } from './service.js'
import { inboxPrefix, type NatsIdentity } from './permissions.js'

export interface NatsPluginOptions {
  servers: string
  /** Connection name, e.g. `auth-7f9c` (service plus instance). */
  connectionName: string
  /** Service name and version announced on `$SRV.*`; omit for a process that only calls (the gateway). */
  service?: { name: string, version: string }
  /** Prefix of every subject this process uses; empty in production, unique per test run. */
  prefix: string
  requestTimeoutMs: number
  /** Identity in the permission matrix; defaults to the service name. Its inbox prefix is used once credentials are set. */
  identity?: NatsIdentity
  /** File with the identity's nkey seed; without it the plugin refuses to connect unless `allowAnonymous`. */
  nkeySeedFile?: string
  /** Development only: connect without credentials when no seed file is set (config `NATS_ALLOW_ANONYMOUS`). */
  allowAnonymous?: boolean
  /** CA of the server's certificate; empty or omitted connects without TLS. */
  tlsCaFile?: string
}

declare module 'fastify' {
  interface FastifyInstance {
    nats: NatsConnection
    natsClient: NatsClient
    /** Adds service endpoints; they start listening when the app is ready. */
    natsServe: (...endpoints: Array<EndpointDefinition<any, any>>) => void
  }
}

/**
 * The process's one NATS connection, its service endpoints, and a client for calling other services.
 * On close: endpoints stop taking messages, in-flight handlers finish, then the connection drains.
 */
export const nats = fp(async function nats (app: FastifyInstance, opts: NatsPluginOptions) {
  const log = app.log.child({ component: 'nats' })
  const identity = opts.identity ?? opts.service?.name as NatsIdentity | undefined
  const credentials = opts.nkeySeedFile !== undefined && opts.nkeySeedFile !== ''
  // An anonymous connection is every identity at once on a server without authorization, so it takes an
  // explicit choice rather than a forgotten setting.
  if (!credentials && opts.allowAnonymous !== true) {
    throw new ConfigError([{ variable: 'NATS_NKEY_SEED_FILE', problem: 'is required: this process\'s NATS nkey seed file (NATS_ALLOW_ANONYMOUS=true connects without credentials, for a development server only)' }])
  }
  if (!credentials) log.warn('connecting to NATS without credentials (NATS_ALLOW_ANONYMOUS)')
  const { nc, isConnected } = await connectNats({
    servers: opts.servers,
    name: opts.connectionName,
    log,
    ...(credentials ? { nkeySeedFile: opts.nkeySeedFile } : {}),
    ...(credentials && identity !== undefined ? { inboxPrefix: inboxPrefix(identity, opts.prefix) } : {}),
    ...(opts.tlsCaFile !== undefined && opts.tlsCaFile !== '' ? { tlsCaFile: opts.tlsCaFile } : {})
  })
  app.decorate('nats', nc)
  app.decorate('natsClient', new NatsClient(nc, opts.prefix, opts.requestTimeoutMs))
  app.readiness?.add('nats', isConnected)
  observedGauge('nats_connected', '1 while the NATS connection is up', [], (g) => { g.set(isConnected() ? 1 : 0) })

  const endpoints: Array<EndpointDefinition<any, any>> = []
  app.decorate('natsServe', (...defs: Array<EndpointDefinition<any, any>>) => { endpoints.push(...defs) })
  let service: NatsService | undefined
  if (opts.service !== undefined) {
    service = new NatsService(nc, { ...opts.service, prefix: opts.prefix, log: app.log })
    // Endpoints start once every plugin is loaded, so a handler never runs before its dependencies exist.
    app.addHook('onReady', async () => { await service?.start(endpoints) })
  }
  app.addHook('preClose', async () => { await service?.stop() })
  app.addHook('onClose', async () => {
    if (!nc.isClosed()) await nc.drain().catch(() => nc.close())
  })
}, { name: 'wxmp-nats', fastify: '5.x', dependencies: ['wxmp-health'] })
