import { randomBytes, randomInt, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect } from '@nats-io/transport-node'
import pg from 'pg'
import { accessToken, rsaKeyPairSync, selfSignedCert, testDatabase, testKey } from '@wxmp/testing'
import { CpuMeter, combine, cpuPerRequest, productionCpuMs, freePort, machineFacts, pidsNamed, ratio, runLoad, startServer, table, type LoadOptions, type LoadResult, type Measured, type ServerProcess } from '../harness/index.js'
import { startBenchGateway } from '../gateway/start-gateway.js'

const benchDir = fileURLToPath(new URL('../..', import.meta.url))
const repo = fileURLToPath(new URL('../../../', import.meta.url))

export interface OrdersBenchOptions {
  /** Seconds of measured load per scenario. */
  durationS: number
  /** Seconds of unmeasured load before each. */
  warmupS: number
  connections: number
  /** Interleaved rounds of both scenarios; medians are reported, so one disturbed round does not decide. */
  rounds?: number
  /** Folder for `node --cpu-prof` output of the payment service, the gateway and the simulator (a subfolder each). */
  cpuProfileDir?: string
  log?: (line: string) => void
}

export interface OrdersBenchResult {
  machine: Record<string, string | number>
  echo: LoadResult
  orders: LoadResult
  /** Orders per second over bare gateway -> NATS round trips per second, same run. */
  ordersOverEcho: number
  /** CPU milliseconds per order spent by each process group. */
  cpuPerOrder: Record<string, number>
  /** CPU milliseconds per order of the processes a deployment runs: not the simulator, the stand-in or the load generator. */
  productionCpuPerOrder: number
  /** Orders per second had the simulator (WeChat Pay's side, its RSA signing above all) used no CPU of the two cores. */
  ordersPerSecondWithoutSimulator: number
  /** Postgres transactions the payment database committed or rolled back per order created, over the whole run. */
  postgresTransactionsPerOrder: number
  text: string
}

/** Transactions of one database so far, and the orders in it. */
async function paymentDbCounts (url: string): Promise<{ transactions: number, orders: number }> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ transactions: string, orders: string }>(
      'SELECT (SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()) AS transactions, (SELECT count(*) FROM orders) AS orders'
    )
    return { transactions: Number(rows[0]?.transactions ?? 0), orders: Number(rows[0]?.orders ?? 0) }
  } finally {
    await client.end()
  }
}

/** Waits until no other connection is open to the database of `url`: each backend publishes its statistics as it exits. */
async function backendsGone (url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    for (let i = 0; i < 50; i++) {
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')
      if (Number(rows[0]?.n ?? 0) === 0) return
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  } finally {
    await client.end()
  }
}

const digits = (n: number): string => Array.from({ length: n }, () => String(randomInt(10))).join('')

/** A merchant and a WeChat Pay key pair in files, as the simulator and the payment service read them. */
function wechatPayKeys (dir: string): { sim: Record<string, string>, payment: Record<string, string>, appid: string } {
  const file = (name: string, content: string): string => { const p = join(dir, name); writeFileSync(p, content, { mode: 0o600 }); return p }
  const pair = (): { key: string, pub: string } => {
    const { privateKey, publicKey } = rsaKeyPairSync()
    return { key: privateKey, pub: publicKey }
  }
  const merchant = pair()
  const wechatpay = pair()
  const appid = 'wx' + randomBytes(8).toString('hex')
  const mchid = '19' + digits(8)
  const serial = randomBytes(20).toString('hex').toUpperCase()
  const keyId = 'PUB_KEY_ID_01' + digits(28)
  const apiV3 = file('apiv3-key', randomBytes(16).toString('hex'))
  // The payment service calls the server API too (shipping management), with the mini-program's AppSecret.
  const shared = { WECHAT_APPID: appid, WECHAT_SECRET: randomBytes(16).toString('hex'), WECHATPAY_MCHID: mchid, WECHATPAY_MERCHANT_SERIAL_NO: serial, WECHATPAY_APIV3_KEY_FILE: apiV3 }
  return {
    appid,
    sim: {
      ...shared,
      SIM_MERCHANT_PUBLIC_KEY_FILE: file('merchant-public.pem', merchant.pub),
      SIM_WECHATPAY_PRIVATE_KEY_FILE: file('wechatpay-key.pem', wechatpay.key),
      SIM_WECHATPAY_PUBLIC_KEY_ID: keyId
    },
    payment: {
      ...shared,
      WECHATPAY_MERCHANT_PRIVATE_KEY_FILE: file('merchant-key.pem', merchant.key),
      WECHATPAY_PUBLIC_KEYS: `${keyId}=${file('wechatpay-public.pem', wechatpay.pub)}`
    }
  }
}

/**
 * Order creation through the gateway: `POST /v1/payments/orders` with a new Idempotency-Key on every request,
 * each one a new order (catalog read, key and order written in one transaction, a signed JSAPI prepay at the
 * WeChat simulator, pay parameters signed, the stored answer written), next to the bare gateway -> NATS echo of
 * the same run. Every server is a process of its own: simulator, user and payment services, the stand-in that
 * answers the echo and the JWKS, the gateway, and the load generator.
 */
export async function runOrdersBench (o: OrdersBenchOptions): Promise<OrdersBenchResult> {
  const log = o.log ?? ((line: string) => process.stdout.write(line + '\n'))
  const cleanups: Array<() => unknown> = []
  const servers: ServerProcess[] = []
  const dir = mkdtempSync(join(tmpdir(), 'wxmp-bench-pay-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  const teardown = { teardown: (fn: () => unknown) => { cleanups.push(fn) } }
  // A folder per process: every thread (tsx's loader has one) writes a profile of its own; the main one is the largest.
  const profile = (name: string): string[] => o.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(o.cpuProfileDir, name)}`]
  try {
    const { cert, key } = await selfSignedCert()
    writeFileSync(join(dir, 'cert.pem'), cert)
    writeFileSync(join(dir, 'key.pem'), key)
    const tls = { TLS_CERT_FILE: join(dir, 'cert.pem'), TLS_KEY_FILE: join(dir, 'key.pem') }
    const prefix = `bench${randomBytes(4).toString('hex')}.`
    const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'
    const keys = wechatPayKeys(dir)
    const signing = await testKey('bench')
    const jwk = signing.publicJwk
    const [simPort, standInPort, userPort, paymentPort, gatewayPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()]
    const service = { NATS_URL: natsUrl, NATS_SUBJECT_PREFIX: prefix, HOST: '127.0.0.1', LOG_LEVEL: 'info' }

    servers.push(await startServer({
      name: 'wechat simulator',
      script: 'src/server.ts',
      cwd: `${repo}services/wechat-sim`,
      nodeArgs: profile('wechat-sim'),
      env: { ...keys.sim, PORT: String(simPort), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
      waitPorts: [simPort]
    }))
    servers.push(await startServer({
      name: 'stand-in services',
      script: 'src/gateway/stand-in-services.ts',
      cwd: benchDir,
      env: { PORT: String(standInPort), NATS_URL: natsUrl, NATS_SUBJECT_PREFIX: prefix, BENCH_JWKS: JSON.stringify({ keys: [jwk] }), LOG_LEVEL: 'info' },
      waitPorts: [standInPort]
    }))
    servers.push(await startServer({
      name: 'user service',
      script: 'src/server.ts',
      cwd: `${repo}services/user`,
      env: { ...service, PORT: String(userPort), DATABASE_URL: await testDatabase(teardown, 'bench_user') },
      waitPorts: [userPort]
    }))
    const paymentDb = await testDatabase(teardown, 'bench_payment')
    servers.push(await startServer({
      name: 'payment service',
      script: 'src/server.ts',
      cwd: `${repo}services/payment`,
      nodeArgs: profile('payment'),
      env: {
        ...service,
        ...keys.payment,
        PORT: String(paymentPort),
        DATABASE_URL: paymentDb,
        WECHAT_API_BASE_URL: `http://127.0.0.1:${simPort}`,
        WECHATPAY_API_BASE_URL: `http://127.0.0.1:${simPort}`,
        WECHATPAY_NOTIFY_URL: `https://127.0.0.1:${gatewayPort}/v1/payments/wechat/notify`
      },
      waitPorts: [paymentPort]
    }))
    servers.push(await startBenchGateway({ tls, port: gatewayPort, natsUrl, prefix, nodeArgs: profile('gateway') }))

    // The buyer: a WeChat user of the simulator's app, made by the user service, signed in with the bench key.
    const nc = await connect({ servers: natsUrl })
    let userId: string
    try {
      const msg = await nc.request(`${prefix}user.ensure`, JSON.stringify({ appid: keys.appid, openid: 'oBench' + randomBytes(10).toString('hex') }), { timeout: 10000 })
      userId = (msg.json() as { user: { id: string } }).user.id
    } finally {
      await nc.close()
    }
    const token = await accessToken(signing, { sub: userId, sid: randomUUID() })

    const facts = machineFacts()
    const rounds = Math.max(1, o.rounds ?? 1)
    log(`machine: ${Object.entries(facts).map(([k, v]) => `${k}=${v}`).join(', ')}`)
    log(`load: autocannon, ${o.connections} connections, keep-alive TLS, ${rounds} interleaved round(s) of ${o.durationS} s per scenario, ${o.warmupS} s warm-up each`)

    const dbBefore = await paymentDbCounts(paymentDb)
    const byName = (n: string): number[] => servers.filter((p) => p.name === n).map((p) => p.pid)
    const meter = new CpuMeter({
      gateway: () => byName('gateway'),
      'payment service': () => byName('payment service'),
      'wechat simulator': () => byName('wechat simulator'),
      'user service': () => byName('user service'),
      'stand-in services': () => byName('stand-in services'),
      'nats-server': () => pidsNamed('nats-server'),
      'redis-server': () => pidsNamed('redis-server'),
      postgres: () => pidsNamed('postgres')
    })
    const scenarios: Array<{ name: string, run: (durationS: number) => Promise<LoadResult> }> = [
      { name: 'gateway -> NATS echo (public)', run: async (durationS) => await runLoad({ url: `https://127.0.0.1:${gatewayPort}/v1/bench/echo`, connections: o.connections, durationS }) },
      {
        name: 'POST /v1/payments/orders (new key each)',
        run: async (durationS) => {
          const load: LoadOptions = {
            url: `https://127.0.0.1:${gatewayPort}/v1/payments/orders`,
            connections: o.connections,
            durationS,
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': 'bench-[<id>]' },
            body: JSON.stringify({ productId: 'postcard', quantity: 1 })
          }
          return await runLoad({ ...load, idReplacement: true })
        }
      }
    ]
    const perScenario: LoadResult[][] = scenarios.map(() => [])
    const cpu: Array<Record<string, number>> = scenarios.map(() => ({}))
    for (let round = 0; round < rounds; round++) {
      for (const [i, s] of scenarios.entries()) {
        if (o.warmupS > 0) await s.run(o.warmupS)
        const before = meter.snapshot()
        const result = await s.run(o.durationS)
        const used = CpuMeter.delta(before, meter.snapshot())
        used.loadgen = result.loadgenCpuS ?? 0
        for (const [k, v] of Object.entries(used)) (cpu[i] as Record<string, number>)[k] = ((cpu[i] as Record<string, number>)[k] ?? 0) + v
        perScenario[i]?.push(result)
        log(`  round ${round + 1} ${s.name}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99} ms, load ${machineFacts().loadAverage1m}`)
      }
    }
    // Round trips are counted, not timed: the payment database's transactions over the orders it holds, warm-ups
    // included. The payment service stops first, so its Postgres backends exit and publish their statistics.
    await servers.find((p) => p.name === 'payment service')?.stop()
    await backendsGone(paymentDb)
    const dbAfter = await paymentDbCounts(paymentDb)
    const postgresTransactionsPerOrder = (dbAfter.transactions - dbBefore.transactions) / Math.max(1, dbAfter.orders - dbBefore.orders)
    const measured: Measured[] = scenarios.map((s, i) => ({ name: s.name, result: combine(perScenario[i] ?? []) }))
    const [echo, orders] = measured.map((m) => m.result) as [LoadResult, LoadResult]
    const ordersOverEcho = ratio(orders, echo)
    const cpuPerOrder: Record<string, number> = {}
    for (const [k, v] of Object.entries(cpu[1] ?? {})) cpuPerOrder[k] = v * 1000 / Math.max(1, orders.requests)
    const productionCpuPerOrder = productionCpuMs(cpu[1] ?? {}, orders.requests)
    // Throughput here is bounded by the CPU every process on the two cores burns per order, so without the
    // simulator's share (its RSA signing of every answer above all) the same cores would place this many.
    const allCpuPerOrder = Object.values(cpuPerOrder).reduce((n, v) => n + v, 0)
    const simCpuPerOrder = cpuPerOrder['wechat simulator'] ?? 0
    const ordersPerSecondWithoutSimulator = orders.rps * allCpuPerOrder / Math.max(1e-9, allCpuPerOrder - simCpuPerOrder)
    const text = [
      table(measured),
      '',
      ...measured.map((m, i) => cpuPerRequest(m.name, cpu[i] ?? {}, m.result.requests)),
      '',
      `orders / echo:   ${ordersOverEcho.toFixed(2)}`,
      `orders/s:        ${orders.rps.toFixed(0)}  (target >= 500: ${orders.rps >= 500 ? 'met' : 'missed'})`,
      `orders/s without the simulator's CPU: ${ordersPerSecondWithoutSimulator.toFixed(0)}  (measured orders/s x all CPU per order / (all - simulator ${simCpuPerOrder.toFixed(3)} ms))`,
      `production CPU per order: ${productionCpuPerOrder.toFixed(3)} ms  (every process but the simulator, the stand-in and the load generator; target <= 2.5: ${productionCpuPerOrder <= 2.5 ? 'met' : 'missed'}); ${(1000 / Math.max(1e-9, productionCpuPerOrder)).toFixed(0)} orders/s per core`,
      `postgres transactions per order: ${postgresTransactionsPerOrder.toFixed(2)}  (payment database, pg_stat_database over count(orders), warm-ups included)`,
      `answers:         ${Object.entries(orders.statusCodes).map(([k, v]) => `${v} x ${k}`).join(', ')}`,
      '(nats-server, redis-server and postgres are the shared instances: their CPU includes any other work on them)'
    ].join('\n')
    log(text)
    return { machine: facts, echo, orders, ordersOverEcho, cpuPerOrder, productionCpuPerOrder, ordersPerSecondWithoutSimulator, postgresTransactionsPerOrder, text }
  } finally {
    for (const s of servers.reverse()) await s.stop().catch(() => {})
    for (const c of cleanups.reverse()) await Promise.resolve().then(c).catch(() => {})
  }
}
