import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createFastify, loadConfig } from '@wxmp/core'
import { buildTestService, type TestService } from '@wxmp/service/testing'
import { LogCollector, freePort, natsPrefix, redisPrefix, selfSignedCert, testNatsEnv, type Teardown } from '@wxmp/testing'
import { startSimulator, type RunningSimulator } from '@wxmp/wechat-sim/testing'
import authApp from '@wxmp/auth/app'
import { authTestEnv } from '@wxmp/auth/testing'
import { ConfigSchema as AuthConfig } from '@wxmp/auth/config'
import userApp from '@wxmp/user/app'
import { ConfigSchema as UserConfig } from '@wxmp/user/config'
import paymentApp from '@wxmp/payment/app'
import { ConfigSchema as PaymentConfig } from '@wxmp/payment/config'
import gatewayApp from '@wxmp/gateway/app'
import { ConfigSchema as GatewayConfig } from '@wxmp/gateway/config'
import { publicServerOptions } from '@wxmp/gateway/server-options'

export interface ClientStack {
  /** https://localhost:<port>: the gateway's public TLS listener, the mini-program's request domain. */
  url: string
  /** PEM of the gateway's self-signed certificate: the only CA a client of the stack trusts. */
  ca: string
  sim: RunningSimulator
  gateway: { app: FastifyInstance, logs: LogCollector }
  auth: TestService<typeof AuthConfig>
  user: TestService<typeof UserConfig>
  payment: TestService<typeof PaymentConfig>
}

export interface ClientStackOptions {
  gateway?: Record<string, string>
  auth?: Record<string, string>
  payment?: Record<string, string>
  sim?: Record<string, string>
}

let tls: Promise<{ cert: string, key: string, certPem: string }> | undefined

async function tlsFiles (): Promise<{ cert: string, key: string, certPem: string }> {
  tls ??= (async () => {
    const { cert, key } = await selfSignedCert()
    const dir = mkdtempSync(join(tmpdir(), 'wxmp-client-tls-'))
    writeFileSync(join(dir, 'cert.pem'), cert)
    writeFileSync(join(dir, 'key.pem'), key, { mode: 0o600 })
    return { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), certPem: cert }
  })()
  return await tls
}

async function until (check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * The simulator, auth, user, payment and the gateway in this process, on real Postgres, Redis, NATS and TLS,
 * sharing one NATS prefix; the simulator delivers pay notifications to the gateway's notify route over HTTPS.
 */
export async function buildClientStack (t: Teardown, opts: ClientStackOptions = {}): Promise<ClientStack> {
  const files = await tlsFiles()
  // The notify URL is part of payment's config, so the gateway's port is chosen before either starts.
  const port = await freePort()
  const sim = await startSimulator(t, { SIM_NOTIFY_CA_FILE: files.cert, SIM_REFUND_SETTLE_MS: '200', ...opts.sim })
  const prefix = natsPrefix()
  const [auth, user, payment] = await Promise.all([
    buildTestService(t, { name: 'auth', schema: AuthConfig, app: authApp, prefix, env: { ...authTestEnv(), ...sim.env, ...opts.auth } }),
    buildTestService(t, { name: 'user', schema: UserConfig, app: userApp, prefix }),
    buildTestService(t, {
      name: 'payment',
      schema: PaymentConfig,
      app: paymentApp,
      prefix,
      env: { ...sim.env, WECHATPAY_NOTIFY_URL: `https://localhost:${port}/v1/payments/wechat/notify`, ...opts.payment }
    })
  ])
  const config = loadConfig(GatewayConfig, {
    LOG_LEVEL: 'debug',
    NATS_SUBJECT_PREFIX: prefix,
    REDIS_KEY_PREFIX: redisPrefix(),
    TLS_CERT_FILE: files.cert,
    TLS_KEY_FILE: files.key,
    NATS_REQUEST_TIMEOUT_MS: '5000',
    JWKS_RETRY_MS: '100',
    ...await testNatsEnv('gateway'),
    // Every client here is 127.0.0.1: limits scaled up (and still counted) so they do not decide outcomes.
    RATE_LIMIT_MAX_SCALE: '100',
    ...opts.gateway
  })
  const logs = new LogCollector()
  const app = createFastify({ service: 'gateway', level: config.LOG_LEVEL, stream: logs, server: publicServerOptions(config) })
  await app.register(fp(gatewayApp), { config })
  t.teardown(async () => { await app.close() })
  await app.ready()
  await app.listen({ port, host: '127.0.0.1' })
  await until(() => app.edgeAuth.keyring.ready && app.edgeAuth.revocations.ready, 'the gateway loading the signing keys and revocations')
  return { url: `https://localhost:${(app.server.address() as AddressInfo).port}`, ca: files.certPem, sim, gateway: { app, logs }, auth, user, payment }
}

const b64url = (v: Buffer | string): string => Buffer.from(v).toString('base64url')

/**
 * The same access token with `exp` in the past, signed by the auth service's own active key: what a phone holds
 * after its token lapsed (the signature, kid and session stay valid, only the time is up).
 */
export async function expiredCopy (stack: ClientStack, token: string): Promise<string> {
  const { createPrivateKey, sign } = await import('node:crypto')
  const [header, payload] = token.split('.') as [string, string]
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>
  const now = Math.floor(Date.now() / 1000)
  const body = b64url(JSON.stringify({ ...claims, iat: now - 3600, exp: now - 60 }))
  const kid = stack.auth.config.AUTH_JWT_ACTIVE_KID
  const file = stack.auth.config.AUTH_JWT_PRIVATE_KEY_FILES.split(',').map((s: string) => s.split('=')).find(([k]) => k === kid)?.[1]
  if (file === undefined) throw new Error(`no key file for kid ${kid}`)
  const signature = sign('sha256', Buffer.from(`${header}.${body}`), { key: createPrivateKey(readFileSync(file)), dsaEncoding: 'ieee-p1363' })
  return `${header}.${body}.${b64url(signature)}`
}
