// No Docker engine runs here, so this does what each Dockerfile does, step by step, without one: it builds, runs the
// Dockerfile's own `pnpm deploy --prod` command, lays out /app exactly as the final stage's COPY lines do, and starts
// the result the way the prod overlay runs it: the migration Job's command first, then the Deployment's, with the
// ConfigMaps' environment, the dev secrets in place of the operator's, and the probes the manifests define.
import t, { type Test as Tap } from 'tap'
import { execSync, spawn } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import https from 'node:https'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import pg from 'pg'
import { NATS_IDENTITIES } from '@wxmp/nats'
import { eventually, freePort, natsPrefix, redisPrefix, testDatabase, testNatsEnv, type Teardown } from '@wxmp/testing'
import { writeDevSecrets } from '../scripts/dev-secrets.mjs'
import { dockerfile, finalStage } from './helpers/dockerfile.js'
import { ROOT, configEnv, find, podTemplate, render, type K8sObject } from './helpers/k8s.js'
import { SERVICES, hasMigrations } from './helpers/services.js'

// Each process connects as its identity to the test nats-server (plain, so no TLS CA here); nats.test.ts and
// packages/nats prove TLS and the rendered config.
// The local NATS is one server without TLS: a stream cannot have the prod overlay's three copies on it (the three-server
// cluster runs the prod config in nats-cluster.test.ts).
const LOCAL = { NATS_TLS_CA_FILE: '', NATS_JS_REPLICAS: '1', REDIS_URL: 'redis://127.0.0.1:6379' }
const LISTENERS = ['PORT', 'HTTPS_PORT', 'HTTP_PORT']

function parseEnvFile (file: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const i = line.indexOf('=')
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1)
  }
  return out
}

function get (url: string): Promise<{ status: number, body: string }> {
  return new Promise((resolve) => {
    const mod = url.startsWith('https:') ? https : http
    const req = mod.get(url, { rejectUnauthorized: false, timeout: 2000 }, (res) => {
      let body = ''
      res.on('data', (c) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', (err) => resolve({ status: 0, body: err.message }))
    req.on('timeout', () => { req.destroy(); resolve({ status: 0, body: 'timeout' }) })
  })
}

/** Polls until 200; returns the last answer, so a failure shows what the endpoint said. */
async function until200 (url: string, ms: number): Promise<{ status: number, body: string }> {
  return await eventually(async () => await get(url), (res) => res.status === 200, { timeoutMs: ms, everyMs: 200 })
}

/** Files of the image outside node_modules, relative to /app. */
function ownFiles (dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    if (f === 'node_modules') return []
    return statSync(p).isDirectory() ? ownFiles(p, base) : [relative(base, p)]
  })
}

interface Proc { code: Promise<number | null>, lines: string[], kill: (signal: NodeJS.Signals) => void }

function run (argv: string[], cwd: string, env: Record<string, string>): Proc {
  // A clean environment: nothing of the test runner's (loaders, source conditions) leaks into the image's process.
  const child = spawn(argv[0] as string, argv.slice(1), { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  let buf = ''
  const take = (chunk: Buffer): void => {
    buf += chunk.toString('utf8')
    const parts = buf.split('\n')
    buf = parts.pop() ?? ''
    lines.push(...parts.filter((l) => l !== ''))
  }
  child.stdout.on('data', take)
  child.stderr.on('data', take)
  const code = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
  return { code, lines, kill: (s) => child.kill(s) }
}

const { objects } = await render('prod')
const secrets = await writeDevSecrets(mkdtempSync(join(tmpdir(), 'wxmp-secrets-')))
t.teardown(() => rmSync(secrets, { recursive: true, force: true }))

/** The environment the prod overlay gives a container, with the dev secrets and local addresses filled in. */
async function containerEnv (t: Teardown, svc: string, pod: { spec: any }, container: any, prefix: string): Promise<{ env: Record<string, string>, ports: Map<number, number> }> {
  const env: Record<string, string> = { ...configEnv(objects, container) }
  for (const e of container.envFrom ?? []) {
    if (e.secretRef !== undefined) Object.assign(env, parseEnvFile(join(secrets, `${(e.secretRef.name as string).replace(/-env$/, '')}.env`)))
  }
  for (const m of container.volumeMounts ?? []) {
    const volume = pod.spec.volumes.find((v: any) => v.name === m.name)
    if (volume?.secret === undefined) continue
    for (const [k, v] of Object.entries(env)) env[k] = v.split(`${m.mountPath}/`).join(`${join(secrets, volume.secret.secretName)}/`)
  }
  const ports = new Map<number, number>()
  for (const k of LISTENERS.filter((k) => env[k] !== undefined)) {
    const local = await freePort()
    ports.set(Number(env[k]), local)
    env[k] = String(local)
  }
  const nats = (NATS_IDENTITIES as readonly string[]).includes(svc) ? await testNatsEnv(svc) : {}
  Object.assign(env, LOCAL, nats, { HOST: '127.0.0.1', NATS_SUBJECT_PREFIX: prefix, REDIS_KEY_PREFIX: redisPrefix() })
  if (env.DATABASE_URL !== undefined) env.DATABASE_URL = await testDatabase(t, `infra_${svc}`)
  return { env, ports }
}

t.before(() => {
  // The build stage's build step, once for every image (turbo's cache makes the rest no-ops).
  const builds = new Set(SERVICES.map((svc) => dockerfile(svc).find((i) => i.op === 'RUN' && i.args.includes('turbo run build'))?.args))
  for (const cmd of builds) {
    if (cmd === undefined) continue
    try {
      execSync(cmd, { cwd: ROOT, stdio: 'pipe', env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' } })
    } catch (err) {
      const e = err as { stdout?: Buffer, stderr?: Buffer }
      throw new Error(`the image build step \`${cmd}\` fails:\n${String(e.stdout ?? '').split('\n').filter((l) => /error|ERROR/.test(l)).join('\n')}${String(e.stderr ?? '')}`)
    }
  }
})

/** Lays out /app for one service exactly as its Dockerfile does, and checks what is (not) in it. */
async function image (t: Tap, svc: string, owner: Teardown): Promise<string> {
  const ins = dockerfile(svc)
  const work = mkdtempSync(join(tmpdir(), `wxmp-image-${svc}-`))
  owner.teardown(() => rmSync(work, { recursive: true, force: true }))

  const deploy = ins.find((i) => i.op === 'RUN' && / deploy /.test(i.args))
  t.match(deploy?.args, new RegExp(`--filter @wxmp/${svc} deploy --prod /out$`), 'the image ships a `pnpm deploy --prod` bundle')
  execSync((deploy?.args as string).replace(/\/out$/, join(work, 'out')), { cwd: ROOT, stdio: 'pipe' })

  const app = join(work, 'app')
  for (const copy of finalStage(ins).filter((i) => i.op === 'COPY')) {
    const m = /^(?:--from=build\s+)?(\S+)\s+\.\/(\S+)$/.exec(copy.args)
    t.ok(m, `COPY ${copy.args} is understood`)
    if (m === null) continue
    const from = copy.args.startsWith('--from=build') ? join(work, (m[1] as string).replace(/^\/out\/?/, 'out/')) : join(ROOT, m[1] as string)
    cpSync(from, join(app, m[2] as string), { recursive: true, verbatimSymlinks: true })
  }

  const files = ownFiles(app)
  t.ok(files.includes('dist/server.js'), 'dist/server.js is in the image')
  t.same(files.filter((f) => /(^|\/)(\.dev|test|\.tap|\.turbo)\/|\.(pem|key|env|ts)$/.test(f) && !f.endsWith('.d.ts')), [], 'no sources, tests or keys in the image')
  t.notOk(existsSync(join(app, 'node_modules', 'tap')) || existsSync(join(app, 'node_modules', 'tsx')), 'no dev dependencies')
  t.equal(hasMigrations(svc), existsSync(join(app, 'src', 'db', 'migrations')), 'the migrations are there when the service has any')
  return app
}

interface Running { svc: string, server: Proc, pod: { spec: any }, container: any, ports: Map<number, number> }

/** Runs one bundle as the prod overlay runs its pod: the migration Job's command, then the container's. */
async function start (t: Tap, svc: string, app: string, prefix: string): Promise<Running> {
  const pod = podTemplate(find(objects, 'Deployment', svc) as K8sObject)!
  const container = pod.spec.containers[0]
  const { env, ports } = await containerEnv(t, svc, pod, container, prefix)

  if (hasMigrations(svc)) {
    const job = podTemplate(find(objects, 'Job', `${svc}-migrate`) as K8sObject)!
    const migrate = run(job.spec.containers[0].command, app, env)
    t.equal(await migrate.code, 0, `${svc}: the migration Job's command exits 0 (${migrate.lines.join(' | ')})`)
    const client = new pg.Client({ connectionString: env.DATABASE_URL })
    await client.connect()
    const { rows } = await client.query<{ name: string }>('SELECT name FROM pgmigrations ORDER BY run_on')
    await client.end()
    const sql = readdirSync(join(ROOT, 'services', svc, 'src', 'db', 'migrations')).filter((f) => f.endsWith('.sql'))
    // A service that publishes events also runs the shared outbox migration of packages/service.
    if (JSON.parse(readFileSync(join(ROOT, 'services', svc, 'package.json'), 'utf8')).wxmp?.outbox === true) {
      sql.push(...readdirSync(join(ROOT, 'packages', 'service', 'src', 'db', 'migrations')).filter((f) => f.endsWith('.sql')))
    }
    t.equal(rows.length, sql.length, `${svc}: ${rows.length} migrations applied`)
    t.equal(env.DATABASE_MIGRATE, 'false', `${svc}: the service itself does not migrate`)
  }

  const cmd = JSON.parse(finalStage(dockerfile(svc)).find((i) => i.op === 'CMD')?.args ?? '[]') as string[]
  const server = run(cmd, app, env)
  t.teardown(() => server.kill('SIGKILL'))
  return { svc, server, pod, container, ports }
}

function probeUrl (r: Running, probe: any): string {
  const named = new Map<string, number>(r.container.ports.map((p: any) => [p.name, p.containerPort]))
  const port = r.ports.get(named.get(probe.httpGet.port) ?? probe.httpGet.port)
  return `${String(probe.httpGet.scheme ?? 'HTTP').toLowerCase()}://127.0.0.1:${port}${probe.httpGet.path}`
}

t.test('the production bundles, laid out as the images, run together as the prod overlay runs them', async (t) => {
  const apps = new Map<string, string>()
  for (const svc of SERVICES) {
    await t.test(`${svc} image contents`, async (st) => { apps.set(svc, await image(st, svc, t)) })
  }

  // One NATS subject prefix for the stack: the gateway is ready only once auth answers it.
  const prefix = natsPrefix()
  // release.sh's first apply: the nats-provision Job's command, in the image it names, before any service starts.
  const job = find(objects, 'Job', 'nats-provision') as K8sObject
  const jobPod = podTemplate(job)!
  const jobContainer = jobPod.spec.containers[0]
  const jobImage = [...apps.keys()].find((svc) => new RegExp(`/${svc}:`).test(jobContainer.image as string)) as string
  t.ok(jobImage, `the provisioning Job runs one of the release's images (${jobContainer.image as string})`)
  const { env: provisionEnv } = await containerEnv(t, 'provisioner', jobPod, jobContainer, prefix)
  const provision = run(jobContainer.command, apps.get(jobImage) as string, provisionEnv)
  t.equal(await provision.code, 0, `the nats-provision Job's command exits 0 in the ${jobImage} image (${provision.lines.slice(-3).join(' | ')})`)
  t.ok(provision.lines.some((l) => /"msg":"JetStream provisioned"/.test(l)), 'and reports the streams it provisioned')

  const running: Running[] = []
  for (const svc of SERVICES.filter((s) => s !== 'gateway')) running.push(await start(t, svc, apps.get(svc) as string, prefix))
  running.push(await start(t, 'gateway', apps.get('gateway') as string, prefix))

  for (const r of running) {
    const c = r.container
    const started = await until200(probeUrl(r, c.startupProbe), 30000)
    // A process that never comes up says why in its own output.
    t.equal(started.status, 200, `${r.svc} startup probe ${probeUrl(r, c.startupProbe)}${started.status === 200 ? '' : `\n${r.server.lines.slice(-20).join('\n')}`}`)
    const ready = await until200(probeUrl(r, c.readinessProbe), 15000)
    t.equal(ready.status, 200, `${r.svc} readiness probe ${probeUrl(r, c.readinessProbe)} ${ready.status === 200 ? '' : ready.body}`)
    t.equal((await get(probeUrl(r, c.livenessProbe))).status, 200, `${r.svc} liveness probe ${probeUrl(r, c.livenessProbe)}`)
  }

  const gateway = running.find((r) => r.svc === 'gateway') as Running
  const https = gateway.ports.get(8443)
  const ping = await get(`https://127.0.0.1:${https}/v1/ping`)
  t.equal(ping.status, 200, 'a request crosses the gateway and every service over NATS')
  t.same(Object.keys(JSON.parse(ping.body) as object).sort(), [...SERVICES].sort(), 'each service answered')

  // The edge stops first, so no request is still on its way to a backend that has gone.
  for (const r of running.reverse()) {
    const started = Date.now()
    r.server.kill('SIGTERM')
    const code = await r.server.code
    const grace = r.pod.spec.terminationGracePeriodSeconds - r.container.lifecycle.preStop.sleep.seconds
    t.equal(code, 0, `${r.svc}: SIGTERM -> exit 0`)
    t.ok(Date.now() - started < grace * 1000, `${r.svc}: stopped in ${Date.now() - started} ms, inside the ${grace} s left after preStop`)
    const logs = r.server.lines.map((l): { service?: string } => { try { return JSON.parse(l) as { service?: string } } catch { return {} } })
    t.ok(logs.length > 0 && logs.every((l) => l.service === r.svc), `${r.svc}: every output line is a JSON log line of the service`)
  }
})
