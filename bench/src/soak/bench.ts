import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { selfSignedCert, testDatabase, testNatsEnv } from '@wxmp/testing'
import { simulatorEnv, simulatorKeys } from '@wxmp/wechat-sim/testing'
import { authTestEnv } from '@wxmp/auth/testing'
import { freePort, machineFacts, runLoad, startServer, table, type LoadResult, type ServerProcess } from '../harness/index.js'

const repo = fileURLToPath(new URL('../../../', import.meta.url))

export interface Memory { rss: number, heapUsed: number }
export interface SoakResult {
  load: LoadResult
  memory: Array<{ service: string, baseline: Memory, peak: Memory, afterGc: Memory }>
  text: string
  machine: Record<string, string | number>
}

const MiB = (b: number): string => (b / 2 ** 20).toFixed(1)

// The processes it starts serve /debug/* only with an admin token; this run makes its own.
const ADMIN_TOKEN = randomBytes(24).toString('hex')

async function gc (port: number): Promise<Memory> {
  const res = await fetch(`http://127.0.0.1:${port}/debug/gc`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  if (!res.ok) throw new Error(`/debug/gc answered ${res.status}`)
  return await res.json() as Memory
}

async function current (port: number): Promise<Memory> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const value = (name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? NaN)
  return { rss: value('process_resident_memory_bytes'), heapUsed: value('nodejs_heap_size_used_bytes') }
}

function post (url: string, body: unknown, ca: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = ''
      res.on('data', (c) => { text += c })
      res.on('end', () => { try { resolve(JSON.parse(text)) } catch (err) { reject(err) } })
    })
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}

/**
 * A soak through the real stack: `requests` authenticated GET /v1/users/me (JWT, rate limits, trace, logs,
 * NATS, the user service and its pool), each service's memory after a full GC before and after, and at peak.
 */
export async function runSoak (o: { requests: number, connections: number, log?: (l: string) => void }): Promise<SoakResult> {
  const log = o.log ?? ((line: string) => process.stdout.write(line + '\n'))
  const servers: ServerProcess[] = []
  const cleanups: Array<() => unknown> = []
  const teardown = { teardown: (fn: () => unknown) => { cleanups.push(fn) } }
  const dir = mkdtempSync(join(tmpdir(), 'wxmp-soak-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  try {
    const { cert, key } = await selfSignedCert()
    writeFileSync(join(dir, 'cert.pem'), cert)
    writeFileSync(join(dir, 'key.pem'), key)
    const prefix = `soak${randomBytes(4).toString('hex')}.`
    // Only real services here, so they run as they do in production: each with its identity of the permission matrix
    // on the authorized test nats-server (scripts/test-nats.mjs), none anonymously.
    const common = { NATS_SUBJECT_PREFIX: prefix, LOG_LEVEL: 'warn', HOST: '127.0.0.1', ADMIN_TOKEN }
    const keys = await simulatorKeys()
    const [simPort, userPort, authPort, gwAdmin, gwHttps, gwHttp] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()])
    const simUrl = `http://127.0.0.1:${simPort}`
    const gcFlag = ['--expose-gc']
    servers.push(await startServer({ name: 'wechat simulator', script: 'src/server.ts', cwd: `${repo}services/wechat-sim`, env: { ...simulatorEnv(keys, { LOG_LEVEL: 'warn' }), PORT: String(simPort), HOST: '127.0.0.1' }, waitPorts: [simPort] }))
    servers.push(await startServer({ name: 'user', script: 'src/server.ts', cwd: `${repo}services/user`, nodeArgs: gcFlag, env: { ...common, ...await testNatsEnv('user'), PORT: String(userPort), DATABASE_URL: await testDatabase(teardown, 'soak_user') }, waitPorts: [userPort] }))
    servers.push(await startServer({
      name: 'auth',
      script: 'src/server.ts',
      cwd: `${repo}services/auth`,
      nodeArgs: gcFlag,
      env: { ...common, ...await testNatsEnv('auth'), ...authTestEnv({ wechatBaseUrl: simUrl, appid: keys.appid, secret: keys.secret }), PORT: String(authPort), DATABASE_URL: await testDatabase(teardown, 'soak_auth'), REDIS_KEY_PREFIX: `soak:${prefix}auth:` },
      waitPorts: [authPort]
    }))
    servers.push(await startServer({
      name: 'gateway',
      script: 'src/server.ts',
      cwd: `${repo}services/gateway`,
      nodeArgs: gcFlag,
      env: {
        ...common,
        ...await testNatsEnv('gateway'),
        PORT: String(gwAdmin),
        HTTPS_PORT: String(gwHttps),
        HTTP_PORT: String(gwHttp),
        TLS_CERT_FILE: join(dir, 'cert.pem'),
        TLS_KEY_FILE: join(dir, 'key.pem'),
        REDIS_KEY_PREFIX: `soak:${prefix}gw:`,
        // One client address for every connection: limits go out of reach, every request is still counted in Redis.
        RATE_LIMIT_MAX_SCALE: '1000000'
      },
      waitPorts: [gwAdmin, gwHttps]
    }))
    const base = `https://localhost:${gwHttps}`
    const { code } = await (await fetch(`${simUrl}/sim/wx-login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json() as { code: string }
    let login: { accessToken?: string } = {}
    for (let i = 0; i < 50 && login.accessToken === undefined; i++) {
      login = await post(`${base}/v1/auth/wechat/login`, { code: i === 0 ? code : (await (await fetch(`${simUrl}/sim/wx-login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json() as { code: string }).code }, cert)
      if (login.accessToken === undefined) await new Promise((resolve) => setTimeout(resolve, 200))
    }
    if (login.accessToken === undefined) throw new Error(`could not log in: ${JSON.stringify(login)}`)
    const headers = { authorization: `Bearer ${login.accessToken}` }
    const url = `https://127.0.0.1:${gwHttps}/v1/users/me`
    const admin = [['gateway', gwAdmin], ['auth', authPort], ['user', userPort]] as const

    // Warm up (JIT, pools, caches), then the baseline after a full collection.
    await runLoad({ url, headers, connections: o.connections, durationS: 3 })
    const baseline = await Promise.all(admin.map(async ([, port]) => await gc(port)))
    log(`soak: ${o.requests} authenticated GET /v1/users/me, ${o.connections} connections`)
    const load = await runLoad({ url, headers, connections: o.connections, durationS: 3600, amount: o.requests })
    const peak = await Promise.all(admin.map(async ([, port]) => await current(port)))
    const afterGc = await Promise.all(admin.map(async ([, port]) => await gc(port)))
    const memory = admin.map(([service], i) => ({ service, baseline: baseline[i] as Memory, peak: peak[i] as Memory, afterGc: afterGc[i] as Memory }))
    const text = [
      table([{ name: 'soak: authenticated GET /v1/users/me', result: load }]),
      '',
      `${'service'.padEnd(10)} ${'RSS MiB: before'.padStart(16)} ${'peak'.padStart(8)} ${'after GC'.padStart(9)}   ${'heap MiB: before'.padStart(17)} ${'peak'.padStart(8)} ${'after GC'.padStart(9)} ${'growth'.padStart(8)}`,
      ...memory.map((m) => `${m.service.padEnd(10)} ${MiB(m.baseline.rss).padStart(16)} ${MiB(m.peak.rss).padStart(8)} ${MiB(m.afterGc.rss).padStart(9)}   ${MiB(m.baseline.heapUsed).padStart(17)} ${MiB(m.peak.heapUsed).padStart(8)} ${MiB(m.afterGc.heapUsed).padStart(9)} ${(MiB(m.afterGc.heapUsed - m.baseline.heapUsed)).padStart(8)}`),
      '',
      'A leak shows as heap that stays above its baseline after a full GC; garbage comes back.'
    ].join('\n')
    log(text)
    return { load, memory, text, machine: machineFacts() }
  } finally {
    for (const s of servers.reverse()) await s.stop().catch(() => {})
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {})
  }
}
