import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes, randomUUID } from 'node:crypto'
import { accessToken, selfSignedCert, testDatabase, testKey } from '@wxmp/testing'
import { CpuMeter, combine, cpuPerRequest, productionCpuMs, freePort, pidsNamed, machineFacts, ratio, runLoad, startServer, table, type LoadResult, type Measured, type ServerProcess } from '../harness/index.js'
import { startBenchGateway } from './start-gateway.js'
import { AUTHENTICATED, type AuthenticatedTarget } from './targets.js'

const benchDir = fileURLToPath(new URL('../..', import.meta.url))

export interface GatewayBenchOptions {
  /** Seconds of measured load per scenario and round. */
  durationS: number
  /**
   * Rounds of all scenarios, interleaved (hello, echo, authenticated, hello, ...) so that background
   * load drifting during the run hits every scenario alike; each scenario reports its median round.
   */
  rounds?: number
  /** Seconds of unmeasured load before each, so JIT and pools are warm. */
  warmupS: number
  connections: number
  authenticated?: AuthenticatedTarget
  /** Run only these scenarios (`hello`, `echo`, `auth`), e.g. to profile one; ratios need all three. */
  only?: string[]
  /** Folder for `node --cpu-prof` output of the gateway (`gateway/`) and the user service (`service/`); none when unset. */
  cpuProfileDir?: string
  log?: (line: string) => void
}

export interface GatewayBenchResult {
  machine: Record<string, string | number>
  hello: LoadResult
  echo: LoadResult
  authenticated: LoadResult
  authenticatedName: string
  /** authenticated req/s over echo req/s; the target is >= 0.6. */
  authOverEcho: number
  echoOverHello: number
  authOverHello: number
  /** CPU milliseconds per request of the processes a deployment runs (not the hello server, stand-ins or load generator). */
  productionCpu: { echo: number, authenticated: number }
  text: string
}

/**
 * The gateway benchmark: a bare Fastify hello, the gateway's bare NATS echo, and an authenticated
 * route (JWT verify, per-IP and per-user rate limits in Redis, trace, logs, NATS, a service), each
 * server a process of its own and the load generator another, all measured in the same run.
 */
export async function runGatewayBench (o: GatewayBenchOptions): Promise<GatewayBenchResult> {
  const log = o.log ?? ((line: string) => process.stdout.write(line + '\n'))
  const target = o.authenticated ?? AUTHENTICATED
  const cleanups: Array<() => unknown> = []
  const servers: ServerProcess[] = []
  const dir = mkdtempSync(join(tmpdir(), 'wxmp-bench-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  try {
    const { cert, key } = await selfSignedCert()
    writeFileSync(join(dir, 'cert.pem'), cert)
    writeFileSync(join(dir, 'key.pem'), key)
    const tls = { TLS_CERT_FILE: join(dir, 'cert.pem'), TLS_KEY_FILE: join(dir, 'key.pem') }
    const prefix = `bench${randomBytes(4).toString('hex')}.`
    const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'

    const signing = await testKey('bench')
    const jwk = signing.publicJwk

    const [helloPort, standInPort, gatewayPort] = [await freePort(), await freePort(), await freePort()]
    servers.push(await startServer({ name: 'fastify hello', script: 'src/gateway/hello-server.ts', cwd: benchDir, env: { PORT: String(helloPort), ...tls }, waitPorts: [helloPort] }))
    servers.push(await startServer({
      name: 'stand-in services',
      script: 'src/gateway/stand-in-services.ts',
      cwd: benchDir,
      env: { PORT: String(standInPort), NATS_URL: natsUrl, NATS_SUBJECT_PREFIX: prefix, BENCH_JWKS: JSON.stringify({ keys: [jwk] }), LOG_LEVEL: 'info' },
      waitPorts: [standInPort]
    }))
    const started = await target.start({
      prefix,
      natsUrl,
      databaseUrl: async () => await testDatabase({ teardown: (fn) => { cleanups.push(fn) } }, 'bench'),
      nodeArgs: o.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfileDir}/service`]
    })
    servers.push(...started.servers)
    servers.push(await startBenchGateway({ tls, port: gatewayPort, natsUrl, prefix, nodeArgs: o.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfileDir}/gateway`] }))

    const token = await accessToken(signing, { sub: started.userId, sid: randomUUID() })

    const all: Array<{ id: string, name: string, url: string, headers?: Record<string, string> }> = [
      { id: 'hello', name: 'fastify hello (TLS)', url: `https://127.0.0.1:${helloPort}/hello` },
      { id: 'echo', name: 'gateway -> NATS echo (public)', url: `https://127.0.0.1:${gatewayPort}/v1/bench/echo` },
      { id: 'auth', name: target.name, url: `https://127.0.0.1:${gatewayPort}${target.path}`, headers: { authorization: `Bearer ${token}` } }
    ]
    const scenarios = all.filter((s) => o.only === undefined || o.only.includes(s.id))
    const facts = machineFacts()
    log(`machine: ${Object.entries(facts).map(([k, v]) => `${k}=${v}`).join(', ')}`)
    const rounds = Math.max(1, o.rounds ?? 1)
    log(`load: autocannon, ${o.connections} connections, keep-alive TLS, ${rounds} interleaved round(s) of ${o.durationS} s per scenario, ${o.warmupS} s warm-up each`)
    const perScenario: LoadResult[][] = scenarios.map(() => [])
    const byName = (n: string): number[] => servers.filter((p) => p.name === n).map((p) => p.pid)
    const meter = new CpuMeter({
      gateway: () => byName('gateway'),
      'hello server': () => byName('fastify hello'),
      'user service': () => byName('user service'),
      'stand-in services': () => byName('stand-in services'),
      'nats-server': () => pidsNamed('nats-server'),
      'redis-server': () => pidsNamed('redis-server'),
      postgres: () => pidsNamed('postgres')
    })
    const cpu: Array<Record<string, number>> = scenarios.map(() => ({}))
    for (let round = 0; round < rounds; round++) {
      for (const [i, s] of scenarios.entries()) {
        const base = { url: s.url, connections: o.connections, ...(s.headers === undefined ? {} : { headers: s.headers }) }
        if (o.warmupS > 0) await runLoad({ ...base, durationS: o.warmupS })
        const before = meter.snapshot()
        const result = await runLoad({ ...base, durationS: o.durationS })
        const used = CpuMeter.delta(before, meter.snapshot())
        used.loadgen = result.loadgenCpuS ?? 0
        for (const [k, v] of Object.entries(used)) (cpu[i] as Record<string, number>)[k] = ((cpu[i] as Record<string, number>)[k] ?? 0) + v
        perScenario[i]?.push(result)
        log(`  round ${round + 1} ${s.name}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99} ms, load ${machineFacts().loadAverage1m}`)
      }
    }
    const measured: Measured[] = scenarios.map((s, i) => ({ name: s.name, result: combine(perScenario[i] ?? []) }))
    if (measured.length < 3) {
      const text = table(measured) + '\n\n' + measured.map((m, i) => cpuPerRequest(m.name, cpu[i] ?? {}, m.result.requests)).join('\n')
      log(text)
      const none = combine([])
      return { machine: facts, hello: none, echo: none, authenticated: none, authenticatedName: target.name, authOverEcho: 0, echoOverHello: 0, authOverHello: 0, productionCpu: { echo: 0, authenticated: 0 }, text }
    }
    const [hello, echo, authenticated] = measured.map((m) => m.result) as [LoadResult, LoadResult, LoadResult]
    const authOverEcho = ratio(authenticated, echo)
    const productionCpu = { echo: productionCpuMs(cpu[1] ?? {}, echo.requests), authenticated: productionCpuMs(cpu[2] ?? {}, authenticated.requests) }
    const text = [
      table(measured),
      '',
      ...measured.map((m, i) => cpuPerRequest(m.name, cpu[i] ?? {}, m.result.requests)),
      '',
      `echo / hello:          ${ratio(echo, hello).toFixed(2)}`,
      `authenticated / hello: ${ratio(authenticated, hello).toFixed(2)}`,
      `authenticated / echo:  ${authOverEcho.toFixed(2)}  (target >= 0.60: ${authOverEcho >= 0.6 ? 'met' : 'missed'})`,
      `authenticated p99:     ${authenticated.p99} ms  (target < 40 ms: ${authenticated.p99 < 40 ? 'met' : 'missed'})`,
      `production CPU:        echo ${productionCpu.echo.toFixed(3)} ms, authenticated ${productionCpu.authenticated.toFixed(3)} ms per request  (target <= 0.45: ${productionCpu.authenticated <= 0.45 ? 'met' : 'missed'})`
    ].join('\n')
    log(text)
    return { machine: facts, hello, echo, authenticated, authenticatedName: target.name, authOverEcho, echoOverHello: ratio(echo, hello), authOverHello: ratio(authenticated, hello), productionCpu, text }
  } finally {
    for (const s of servers.reverse()) await s.stop().catch(() => {})
    for (const c of cleanups.reverse()) await Promise.resolve().then(c).catch(() => {})
  }
}
