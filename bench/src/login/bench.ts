import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { selfSignedCert, testDatabase } from '@wxmp/testing'
import { simulatorEnv, simulatorKeys } from '@wxmp/wechat-sim/testing'
import { authTestEnv } from '@wxmp/auth/testing'
import { CpuMeter, cpuPerRequest, productionCpuMs, freePort, machineFacts, pidsNamed, ratio, runLoad, startServer, table, type LoadResult, type ServerProcess } from '../harness/index.js'
import { startBenchGateway } from '../gateway/start-gateway.js'

const benchDir = fileURLToPath(new URL('../..', import.meta.url))
const repo = fileURLToPath(new URL('../../../', import.meta.url))

export interface LoginBenchOptions {
  durationS: number
  /** Distinct users logging in; each logs in once during the warm-up, so the measured logins are returning users. */
  users?: number
  warmupS: number
  connections: number
  /** Folder for `node --cpu-prof` profiles of auth, user and the gateway (a subfolder each); none when unset. */
  cpuProfileDir?: string
  log?: (line: string) => void
}

export interface LoginBenchResult {
  machine: Record<string, string | number>
  echo: LoadResult
  login: LoadResult
  loginOverEcho: number
  /** CPU milliseconds per login of the processes a deployment runs (not the simulator or the load generator). */
  productionCpuPerLogin: number
  text: string
}

/** Asks the simulator (the phone's wx.login) for `n` fresh codes of the run's `users`, 50 at a time. */
async function mintCodes (simUrl: string, n: number, users: number): Promise<string[]> {
  const codes: string[] = []
  let i = 0
  const worker = async (): Promise<void> => {
    while (codes.length < n) {
      const res = await fetch(`${simUrl}/sim/wx-login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ openid: `bench-user-${i++ % users}` }) })
      codes.push(((await res.json()) as { code: string }).code)
    }
  }
  await Promise.all(Array.from({ length: 50 }, worker))
  return codes
}

/**
 * WeChat logins through the gateway (code -> code2Session at the simulator -> user.ensure -> session and
 * tokens) next to the bare gateway -> NATS echo, every server a process of its own, in one run.
 */
export async function runLoginBench (o: LoginBenchOptions): Promise<LoginBenchResult> {
  const log = o.log ?? ((line: string) => process.stdout.write(line + '\n'))
  const servers: ServerProcess[] = []
  const cleanups: Array<() => unknown> = []
  const dir = mkdtempSync(join(tmpdir(), 'wxmp-bench-login-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  const teardown = { teardown: (fn: () => unknown) => { cleanups.push(fn) } }
  try {
    const { cert, key } = await selfSignedCert()
    writeFileSync(join(dir, 'cert.pem'), cert)
    writeFileSync(join(dir, 'key.pem'), key)
    const prefix = `bench${randomBytes(4).toString('hex')}.`
    const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'
    const common = { NATS_URL: natsUrl, NATS_SUBJECT_PREFIX: prefix, LOG_LEVEL: 'info', HOST: '127.0.0.1' }
    const keys = await simulatorKeys()
    const [simPort, userPort, authPort, standInPort, gatewayPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()])
    const simUrl = `http://127.0.0.1:${simPort}`

    servers.push(await startServer({ name: 'wechat simulator', script: 'src/server.ts', cwd: `${repo}services/wechat-sim`, env: { ...simulatorEnv(keys, { LOG_LEVEL: 'warn' }), PORT: String(simPort), HOST: '127.0.0.1' }, waitPorts: [simPort] }))
    const prof = (name: string): string[] => o.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(o.cpuProfileDir, name)}`]
    servers.push(await startServer({ name: 'user service', script: 'src/server.ts', cwd: `${repo}services/user`, nodeArgs: prof('user'), env: { ...common, PORT: String(userPort), DATABASE_URL: await testDatabase(teardown, 'bench_user') }, waitPorts: [userPort] }))
    servers.push(await startServer({
      name: 'auth service',
      script: 'src/server.ts',
      cwd: `${repo}services/auth`,
      nodeArgs: prof('auth'),
      env: {
        ...common,
        ...authTestEnv({ wechatBaseUrl: simUrl, appid: keys.appid, secret: keys.secret }),
        PORT: String(authPort),
        DATABASE_URL: await testDatabase(teardown, 'bench_auth'),
        REDIS_KEY_PREFIX: `bench:${prefix}auth:`
      },
      waitPorts: [authPort]
    }))
    servers.push(await startServer({ name: 'stand-in services', script: 'src/gateway/stand-in-services.ts', cwd: benchDir, env: { ...common, PORT: String(standInPort) }, waitPorts: [standInPort] }))
    servers.push(await startBenchGateway({ tls: { TLS_CERT_FILE: join(dir, 'cert.pem'), TLS_KEY_FILE: join(dir, 'key.pem') }, port: gatewayPort, natsUrl, prefix, nodeArgs: prof('gateway') }))

    const base = `https://127.0.0.1:${gatewayPort}`
    const facts = machineFacts()
    log(`machine: ${Object.entries(facts).map(([k, v]) => `${k}=${v}`).join(', ')}`)
    log(`load: autocannon, ${o.connections} connections, keep-alive TLS, ${o.durationS} s per scenario, ${o.warmupS} s warm-up each`)
    const meter = new CpuMeter({
      gateway: () => servers.filter((s) => s.name === 'gateway').map((s) => s.pid),
      auth: () => servers.filter((s) => s.name === 'auth service').map((s) => s.pid),
      user: () => servers.filter((s) => s.name === 'user service').map((s) => s.pid),
      'wechat simulator': () => servers.filter((s) => s.name === 'wechat simulator').map((s) => s.pid),
      'nats-server': () => pidsNamed('nats-server'),
      'redis-server': () => pidsNamed('redis-server'),
      postgres: () => pidsNamed('postgres')
    })

    if (o.warmupS > 0) await runLoad({ url: `${base}/v1/bench/echo`, connections: o.connections, durationS: o.warmupS })
    const before = meter.snapshot()
    const echo = await runLoad({ url: `${base}/v1/bench/echo`, connections: o.connections, durationS: o.durationS })
    const echoCpu = CpuMeter.delta(before, meter.snapshot())

    // The warm-up logs every user of the run in once (their first login creates them); the measured window
    // is returning users, each with a fresh code.
    // Most logins of a live mini-program are by people who logged in before.
    const users = o.users ?? 2000
    const warmCodes = await mintCodes(simUrl, users, users)
    writeFileSync(join(dir, 'warm-codes'), warmCodes.map((code) => JSON.stringify({ code })).join('\n'))
    const loginAt = { url: `${base}/v1/auth/wechat/login`, method: 'POST', headers: { 'content-type': 'application/json' }, connections: o.connections }
    await runLoad({ ...loginAt, durationS: Math.max(o.warmupS, 60), bodiesFile: join(dir, 'warm-codes') })
    const codes = await mintCodes(simUrl, Math.max(500, o.durationS * 2000), users)
    writeFileSync(join(dir, 'codes'), codes.map((code) => JSON.stringify({ code })).join('\n'))
    const beforeLogin = meter.snapshot()
    const login = await runLoad({ ...loginAt, durationS: o.durationS, bodiesFile: join(dir, 'codes') })
    const loginCpu = CpuMeter.delta(beforeLogin, meter.snapshot())
    loginCpu.loadgen = login.loadgenCpuS ?? 0
    echoCpu.loadgen = echo.loadgenCpuS ?? 0

    const measured = [{ name: 'gateway -> NATS echo (public)', result: echo }, { name: 'WeChat login (returning user)', result: login }]
    const loginOverEcho = ratio(login, echo)
    const productionCpuPerLogin = productionCpuMs(loginCpu, login.requests)
    const text = [
      table(measured),
      '',
      cpuPerRequest(measured[0]!.name, echoCpu, echo.requests),
      cpuPerRequest(measured[1]!.name, loginCpu, login.requests),
      '',
      `logins / echo: ${loginOverEcho.toFixed(2)}   (target: 1,000 logins/s on this machine; measured ${login.rps.toFixed(0)} logins/s)`,
      `production CPU per login: ${productionCpuPerLogin.toFixed(3)} ms  (target <= 1.5: ${productionCpuPerLogin <= 1.5 ? 'met' : 'missed'}); ${(1000 / Math.max(1e-9, productionCpuPerLogin)).toFixed(0)} logins/s per core`,
      `login answers: ${Object.entries(login.statusCodes).map(([k, v]) => `${k}: ${v}`).join(', ')}`
    ].join('\n')
    log(text)
    return { machine: facts, echo, login, loginOverEcho, productionCpuPerLogin, text }
  } finally {
    for (const s of servers.reverse()) await s.stop().catch(() => {})
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {})
  }
}
