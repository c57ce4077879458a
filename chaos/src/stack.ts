import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { es256PrivateKeyPem, natsPrefix, privateNats, privateNatsCluster, privateRedis, selfSignedCert, type ClusterNode, type PrivateServer } from '@wxmp/testing'
import { simulatorEnv, simulatorKeys, type SimulatorKeys } from '@wxmp/wechat-sim/testing'
import pg from 'pg'
import { Cleanup } from './infra/cleanup.js'
import { VIRTUAL_PRODUCT } from './load.js'
import { clusterFormed } from './infra/cluster.js'
import { throwawayPostgres, type ThrowawayPostgres } from './infra/postgres.js'
import { startService, type ServiceProcess } from './infra/processes.js'

// The suite's servers start while the whole stack does, on a loaded machine.
const SLOW_START = { startTimeoutMs: 20_000 }

export interface StackOptions {
  /** Replicas of user and payment (the services a replica-kill scenario kills one of). */
  replicas?: number
  logLevel?: string
  /** Folder for the services' logs; a temporary one otherwise. */
  logDir?: string
  /** Three nats-servers as one JetStream cluster, every stream and bucket with three replicas, instead of one server. */
  cluster?: boolean
}

export interface Stack {
  cleanup: Cleanup
  prefix: string
  pg: ThrowawayPostgres
  /** The nats-server; on a cluster, its first node. */
  nats: PrivateServer
  /** The cluster's nodes; empty on a single server. */
  natsNodes: ClusterNode[]
  redis: PrivateServer
  /** https://localhost:<port> of the gateway's public listener. */
  url: string
  /** The gateway's certificate, which clients trust. */
  ca: string
  simUrl: string
  sim: ServiceProcess
  gateway: ServiceProcess
  auth: ServiceProcess
  users: ServiceProcess[]
  payments: ServiceProcess[]
  all: () => ServiceProcess[]
  keys: SimulatorKeys
  logDir: string
  /** The payment database, for the books. */
  paymentDb: string
}

/**
 * The whole backend as production runs it, on infrastructure nobody else uses: a throwaway Postgres cluster, a
 * private Redis and a private nats-server with JetStream on spare ports, the simulator, auth, user and payment
 * (with replicas), and the gateway on real TLS, all as child processes on a fresh NATS subject prefix.
 */
export async function startStack (opts: StackOptions = {}): Promise<Stack> {
  const cleanup = new Cleanup()
  try {
    return await build(cleanup, opts)
  } catch (err) {
    await cleanup.run()
    throw err
  }
}

async function build (cleanup: Cleanup, opts: StackOptions): Promise<Stack> {
  const replicas = opts.replicas ?? 2
  const secrets = mkdtempSync(join(tmpdir(), 'wxmp-chaos-keys-'))
  cleanup.onExit(() => { rmSync(secrets, { recursive: true, force: true }) })
  const logDir = opts.logDir ?? mkdtempSync(join(tmpdir(), 'wxmp-chaos-logs-'))
  mkdirSync(logDir, { recursive: true })
  const file = (name: string, content: string): string => {
    const p = join(secrets, name)
    writeFileSync(p, content, { mode: 0o600 })
    return p
  }
  const [pg, natsNodes, redis, keys, tls] = await Promise.all([
    throwawayPostgres(cleanup),
    opts.cluster === true ? privateNatsCluster(cleanup, SLOW_START) : privateNats(cleanup, SLOW_START).then((n) => [n]),
    privateRedis(cleanup, SLOW_START), simulatorKeys(), selfSignedCert()
  ])
  const nats = natsNodes[0] as PrivateServer
  // Streams with three replicas can only be placed once every node has joined the meta group (the services would
  // wait for it too, but the scenarios time their faults from a formed cluster).
  if (opts.cluster === true) await clusterFormed(natsNodes as ClusterNode[])
  const cert = file('tls-cert.pem', tls.cert)
  const tlsKey = file('tls-key.pem', tls.key)
  const prefix = natsPrefix()
  const logLevel = opts.logLevel ?? 'warn'

  const shared = {
    LOG_LEVEL: logLevel,
    HOST: '127.0.0.1',
    NATS_URL: natsNodes.map((n) => n.url).join(','),
    NATS_JS_REPLICAS: String(natsNodes.length),
    NATS_SUBJECT_PREFIX: prefix,
    REDIS_URL: redis.url,
    DATABASE_CREATE: 'true',
    SHUTDOWN_GRACE_MS: '3000'
  }

  const sim = await startService(cleanup, logDir, 'wechat-sim', 'wechat-sim', ([port]) => simulatorEnv(keys, {
    LOG_LEVEL: logLevel,
    HOST: '127.0.0.1',
    PORT: String(port),
    SIM_NOTIFY_CA_FILE: cert,
    // WeChat Pay's retry schedule compressed from hours to about a minute: notifications that fail during a fault
    // are retried within the scenario, as WeChat would over the following hours.
    SIM_NOTIFY_SCHEDULE: '300ms,700ms,1s,2s,3s,5s,5s,8s,10s,10s,10s,15s',
    SIM_NOTIFY_TIMEOUT_MS: '5000',
    SIM_REFUND_SETTLE_MS: '500'
  }), 1)
  const simUrl = `http://127.0.0.1:${sim.port}`
  const wechat = {
    WECHAT_APPID: keys.appid,
    WECHAT_SECRET: keys.secret,
    WECHAT_API_BASE_URL: simUrl,
    WECHATPAY_API_BASE_URL: simUrl,
    WECHATPAY_MCHID: keys.mchid,
    WECHATPAY_MERCHANT_SERIAL_NO: keys.merchantSerialNo,
    WECHATPAY_MERCHANT_PRIVATE_KEY_FILE: keys.files.merchantPrivateKey,
    WECHATPAY_APIV3_KEY_FILE: keys.files.apiV3Key,
    WECHATPAY_PUBLIC_KEYS: `${keys.wechatpayPublicKeyId}=${keys.files.wechatpayPublicKey}`
  }

  // The gateway first: payment needs its port for the notify URL, and it waits for auth's keys on its own.
  let httpsPort = 0
  const gateway = await startService(cleanup, logDir, 'gateway', 'gateway', ([https, http]) => {
    httpsPort = https as number
    return {
      ...shared,
      REDIS_KEY_PREFIX: 'chaos:gateway:',
      TLS_CERT_FILE: cert,
      TLS_KEY_FILE: tlsKey,
      HTTPS_PORT: String(https),
      HTTP_PORT: String(http),
      PUBLIC_HTTPS_PORT: String(https),
      // Every client here is 127.0.0.1: the limits are scaled up, and still counted, so they do not decide outcomes.
      RATE_LIMIT_MAX_SCALE: '10000',
      JWKS_RETRY_MS: '200',
      PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0'
    }
  }, 2)

  const authKey = file('jwt-k1.pem', es256PrivateKeyPem())
  const dataKey = file('data-key', randomBytes(32).toString('base64'))
  const db = (name: string): string => pg.url(`wxmp_${name}`)
  // One at a time: each boot creates and migrates its database, and two tsx boots at once would fight for 2 cores.
  const auth = await startService(cleanup, logDir, 'auth', 'auth', () => ({
    ...shared,
    ...wechat,
    DATABASE_URL: db('auth'),
    REDIS_KEY_PREFIX: 'chaos:auth:',
    AUTH_JWT_PRIVATE_KEY_FILES: `k1=${authKey}`,
    AUTH_JWT_ACTIVE_KID: 'k1',
    AUTH_DATA_KEY_FILE: dataKey,
    // The message push receiver, on as production runs it (the dev secrets carry its Token and key): without it the
    // public /v1/wechat/push routes have nobody to answer them and the gateway can only say 503.
    WECHAT_PUSH_TOKEN: randomBytes(12).toString('hex'),
    WECHAT_PUSH_ENCODING_AES_KEY: randomBytes(32).toString('base64').slice(0, 43),
    BCRYPT_COST: '10'
  }))
  const users: ServiceProcess[] = []
  const payments: ServiceProcess[] = []
  for (let i = 1; i <= replicas; i++) {
    users.push(await startService(cleanup, logDir, `user-${i}`, 'user', () => ({ ...shared, DATABASE_URL: db('user') })))
    payments.push(await startService(cleanup, logDir, `payment-${i}`, 'payment', () => ({
      ...shared,
      ...wechat,
      DATABASE_URL: db('payment'),
      REDIS_KEY_PREFIX: 'chaos:payment:',
      WECHATPAY_NOTIFY_URL: `https://localhost:${httpsPort}/v1/payments/wechat/notify`,
      WECHATPAY_TIMEOUT_MS: '5000',
      // A crashed request's key is taken over after 5 s rather than a minute, so retries complete inside a scenario.
      IDEMPOTENCY_LEASE_SECONDS: '5',
      RECONCILE_INTERVAL_MS: '2000',
      RECONCILE_AFTER_SECONDS: '15',
      // Shipping reports: a call that takes 1.5 s has timed out (its upload is uncertain), and an uncertain or failed
      // report is tried again (get_order first) 3 s later, so a slow upload still in flight lands before the retry
      // reads the platform; a virtual order never reported at payment is picked up after 3 s.
      WECHAT_TIMEOUT_MS: '1500',
      SHIPPING_RETRY_SECONDS: '3',
      SHIPPING_REPORT_AFTER_SECONDS: '3'
    })))
  }
  // A deployment's own catalog: one product delivered as virtual goods, reported to WeChat's shipping management at
  // payment (the starter products are shipped by staff).
  await addVirtualProduct(db('payment'))

  const stack: Stack = {
    cleanup,
    prefix,
    pg,
    nats,
    natsNodes: opts.cluster === true ? natsNodes as ClusterNode[] : [],
    redis,
    url: `https://localhost:${httpsPort}`,
    ca: tls.cert,
    simUrl,
    sim,
    gateway,
    auth,
    users,
    payments,
    all: () => [sim, gateway, auth, ...users, ...payments],
    keys,
    logDir,
    paymentDb: db('payment')
  }
  return stack
}

async function addVirtualProduct (url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query("INSERT INTO products (id, name, price, delivery) VALUES ($1, '电子表情包', 100, 'virtual') ON CONFLICT (id) DO NOTHING", [VIRTUAL_PRODUCT])
  } finally {
    await client.end()
  }
}

/** Waits until every process reports ready and the gateway answers /v1/ping through every service. */
export async function untilReady (stack: Stack, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ready = await Promise.all(stack.all().map(async (p) => await p.ready()))
    const ping = ready.every(Boolean) ? await pingOk(stack) : false
    if (ping) return
    if (Date.now() > deadline) {
      const names = stack.all().filter((_p, i) => ready[i] !== true).map((p) => p.name)
      throw new Error(`the stack is not ready after ${timeoutMs} ms (not ready: ${names.join(', ') || 'none; /v1/ping fails'})`)
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

async function pingOk (stack: Stack): Promise<boolean> {
  const { request } = await import('./client.js')
  const r = await request(stack, { method: 'GET', path: '/v1/ping', kind: 'ping' })
  return r.status === 200
}
