import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
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
}

/** The gateway app on real Redis and NATS, on the given subject prefix; listen() it for real TLS tests. */
export async function buildGateway (t: Teardown, prefix: string, env: Record<string, string> = {}, https = false): Promise<Gateway> {
  const tls = await tlsFiles()
  const config = loadConfig(ConfigSchema, {
    LOG_LEVEL: 'debug',
    NATS_SUBJECT_PREFIX: prefix,
    REDIS_KEY_PREFIX: redisPrefix(),
    TLS_CERT_FILE: tls.cert,
    TLS_KEY_FILE: tls.key,
    NATS_REQUEST_TIMEOUT_MS: '2000',
    ...env
  })
  const logs = new LogCollector()
  const { readFileSync } = await import('node:fs')
  const app = createFastify({
    service: 'gateway',
    level: config.LOG_LEVEL,
    stream: logs,
    server: {
      bodyLimit: config.BODY_LIMIT_BYTES,
      ...(https ? { https: { cert: readFileSync(config.TLS_CERT_FILE), key: readFileSync(config.TLS_KEY_FILE), minVersion: 'TLSv1.2' } } : {})
    }
  })
  await app.register(fp(gatewayApp), { config })
  t.teardown(async () => { await app.close() })
  await app.ready()
  return { app, config, logs }
}

export interface Stack {
  prefix: string
  gateway: Gateway
  auth: TestService<typeof AuthConfig>
  user: TestService<typeof UserConfig>
  payment: TestService<typeof PaymentConfig>
}

/** The gateway and the three services, each on its own database, sharing one NATS prefix. */
export async function buildStack (t: Teardown, env: { gateway?: Record<string, string>, https?: boolean } = {}): Promise<Stack> {
  const prefix = natsPrefix()
  const [auth, user, payment] = await Promise.all([
    buildTestService(t, { name: 'auth', schema: AuthConfig, app: authApp, prefix }),
    buildTestService(t, { name: 'user', schema: UserConfig, app: userApp, prefix }),
    buildTestService(t, { name: 'payment', schema: PaymentConfig, app: paymentApp, prefix })
  ])
  const gateway = await buildGateway(t, prefix, env.gateway, env.https)
  return { prefix, gateway, auth, user, payment }
}
