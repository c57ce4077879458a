import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import type { AddressInfo } from 'node:net'
import fp from 'fastify-plugin'
import { createFastify, loadConfig } from '@wxmp/core'
import { LogCollector, redisPrefix, selfSignedCert, testNatsEnv, type Teardown } from '@wxmp/testing'
import gatewayApp from '../../src/app.js'
import { ConfigSchema, type Config } from '../../src/config.js'
import { publicServerOptions } from '../../src/server-options.js'
import type { Tracing } from '../../src/telemetry.js'
import type { EdgeTable } from '../../src/edge-routes.js'

let certFiles: Promise<{ cert: string, key: string, certPem: string }> | undefined

/** One self-signed pair per test process, written to files the way production mounts them. */
export async function tlsFiles (): Promise<{ cert: string, key: string, certPem: string }> {
  certFiles ??= (async () => {
    const { cert, key } = await selfSignedCert()
    const dir = mkdtempSync(join(tmpdir(), 'wxmp-tls-'))
    writeFileSync(join(dir, 'cert.pem'), cert)
    writeFileSync(join(dir, 'key.pem'), key, { mode: 0o600 })
    return { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), certPem: cert }
  })()
  return await certFiles
}

export interface Gateway {
  app: FastifyInstance
  config: Config
  logs: LogCollector
  /** Listens on a spare port with the real TLS listener and returns its https URL. */
  listen: () => Promise<string>
}

export interface GatewayExtras {
  /** Route plugins registered under the gateway's edge policy. */
  routes?: FastifyPluginAsync[]
  /** Replaces EDGE_ROUTES. */
  edgeRoutes?: EdgeTable
  tracing?: Tracing
}

/** The gateway app on real Redis and NATS (as its identity, on the test server), on the given subject prefix, with the production server options. */
export async function buildGateway (t: Teardown, prefix: string, env: Record<string, string> = {}, _https = true, extras: GatewayExtras = {}): Promise<Gateway> {
  const tls = await tlsFiles()
  const config = loadConfig(ConfigSchema, {
    LOG_LEVEL: 'debug',
    NATS_SUBJECT_PREFIX: prefix,
    REDIS_KEY_PREFIX: redisPrefix(),
    TLS_CERT_FILE: tls.cert,
    TLS_KEY_FILE: tls.key,
    NATS_REQUEST_TIMEOUT_MS: '2000',
    JWKS_RETRY_MS: '100',
    ...await testNatsEnv('gateway'),
    ...env
  })
  const logs = new LogCollector()
  const app = createFastify({ service: 'gateway', level: config.LOG_LEVEL, stream: logs, server: publicServerOptions(config) })
  await app.register(fp(gatewayApp), { config, ...extras })
  t.teardown(async () => { await app.close() })
  await app.ready()
  const listen = async (): Promise<string> => {
    if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' })
    return `https://localhost:${(app.server.address() as AddressInfo).port}`
  }
  return { app, config, logs, listen }
}
