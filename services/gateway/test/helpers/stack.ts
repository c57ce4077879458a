import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import type { AddressInfo } from 'node:net'
import fp from 'fastify-plugin'
import { createFastify, loadConfig } from '@wxmp/core'
import { buildTestService, type TestService } from '@wxmp/service/testing'
import { LogCollector, natsPrefix, redisPrefix, selfSignedCert, type Teardown } from '@wxmp/testing'
import authApp from '@wxmp/auth/app'
import { ConfigSchema as AuthConfig } from '@wxmp/auth/config'
import userApp from '@wxmp/user/app'
import { ConfigSchema as UserConfig } from '@wxmp/user/config'
import paymentApp from '@wxmp/payment/app'
import { ConfigSchema as PaymentConfig } from '@wxmp/payment/config'
import gatewayApp from '../../src/app.js'
import { ConfigSchema, type Config } from '../../src/config.js'
import { publicServerOptions } from '../../src/server-options.js'
import type { Tracing } from '../../src/telemetry.js'

/** The settings the auth service needs beyond the shared ones: signing and data keys in files, a WeChat app. */
export function authEnv (): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'wxmp-auth-'))
  const key = join(dir, 'k1.pem')
  writeFileSync(key, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 })
  const dataKey = join(dir, 'data-key')
  writeFileSync(dataKey, randomBytes(32).toString('base64'), { mode: 0o600 })
  return {
    AUTH_JWT_PRIVATE_KEY_FILES: `k1=${key}`,
    AUTH_JWT_ACTIVE_KID: 'k1',
    AUTH_DATA_KEY_FILE: dataKey,
    WECHAT_APPID: 'wx' + randomBytes(8).toString('hex'),
    WECHAT_SECRET: randomBytes(16).toString('hex'),
    WECHAT_API_BASE_URL: 'http://127.0.0.1:9'
  }
}

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
  /** Replaces PUBLIC_ROUTES. */
  publicRoutes?: Readonly<Record<string, string>>
  tracing?: Tracing
}

/** The gateway app on real Redis and NATS, on the given subject prefix, with the production server options. */
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

export interface Stack {
  prefix: string
  gateway: Gateway
  auth: TestService<typeof AuthConfig>
  user: TestService<typeof UserConfig>
  payment: TestService<typeof PaymentConfig>
}

/** The gateway and the three services, each on its own database, sharing one NATS prefix. */
export async function buildStack (t: Teardown, env: { gateway?: Record<string, string>, https?: boolean, extras?: GatewayExtras } = {}): Promise<Stack> {
  const prefix = natsPrefix()
  const [auth, user, payment] = await Promise.all([
    buildTestService(t, { name: 'auth', schema: AuthConfig, app: authApp, prefix, env: authEnv() }),
    buildTestService(t, { name: 'user', schema: UserConfig, app: userApp, prefix }),
    buildTestService(t, { name: 'payment', schema: PaymentConfig, app: paymentApp, prefix })
  ])
  const gateway = await buildGateway(t, prefix, env.gateway, true, env.extras)
  return { prefix, gateway, auth, user, payment }
}
