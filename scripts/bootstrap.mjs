#!/usr/bin/env node
// Bootstrap for `npm start`, `npm test` and `pnpm dev` on a fresh machine with only Node.js and npm:
// pnpm, dependencies, a check of Postgres/Redis/NATS, dev secrets, then turbo does the work.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import net from 'node:net'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const PNPM_VERSION = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split('@')[1]
const mode = process.argv[2]

function run (cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts })
  return r.status ?? 1
}

function pnpmCommand () {
  const r = spawnSync('pnpm', ['--version'], { encoding: 'utf8' })
  if (r.status === 0 && r.stdout.trim().split('.')[0] === PNPM_VERSION.split('.')[0]) return ['pnpm']
  // corepack's signature check fails against some registries, so pnpm comes from npm itself.
  console.log(`bootstrap: installing pnpm@${PNPM_VERSION} with npm`)
  if (run('npm', ['install', '--global', '--no-fund', '--no-audit', `pnpm@${PNPM_VERSION}`]) === 0) return ['pnpm']
  return ['npx', '--yes', `pnpm@${PNPM_VERSION}`]
}

async function reachable (host, port) {
  return await new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 2000 })
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('timeout', () => { s.destroy(); resolve(false) })
    s.once('error', () => resolve(false))
  })
}

const DEPENDENCIES = [
  { name: 'Postgres', host: '127.0.0.1', port: 5432, start: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' },
  { name: 'Redis', host: '127.0.0.1', port: 6379, start: 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no' },
  { name: 'NATS', host: '127.0.0.1', port: 4222, start: 'nats-server -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server &' }
]

async function checkDependencies () {
  const down = []
  for (const d of DEPENDENCIES) if (!(await reachable(d.host, d.port))) down.push(d)
  for (const d of down) console.error(`bootstrap: ${d.name} is not reachable at ${d.host}:${d.port}; start it with: ${d.start}`)
  return down.length === 0
}

/** Every workspace package folder, from pnpm-workspace.yaml (`dir/*` globs and plain folders). */
function workspaceDirs () {
  const globs = [...readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8').matchAll(/^\s*-\s*['"]?([^'"\s#]+)['"]?\s*$/gm)].map((m) => m[1])
  return globs.flatMap((g) => g.endsWith('/*')
    ? readdirSync(join(root, g.slice(0, -2))).map((p) => join(root, g.slice(0, -2), p))
    : [join(root, g)]).filter((d) => existsSync(join(d, 'package.json')))
}

/** Counts the top-level test points of every file tap ran, from its saved results. */
function countTests () {
  let passed = 0; let failed = 0; let skipped = 0
  const dirs = workspaceDirs().map((d) => join(d, '.tap', 'test-results'))
  const walk = (dir) => readdirSync(dir).flatMap((f) => statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)])
  for (const dir of dirs.filter(existsSync)) {
    for (const file of walk(dir)) {
      const lines = readFileSync(file, 'utf8').split('\n')
      let points = 0
      for (const line of lines) {
        const m = /^(not )?ok \d+/.exec(line)
        if (m === null) continue
        points++
        if (/# (SKIP|TODO)\b/i.test(line)) skipped++
        else if (m[1] === undefined) passed++
        else failed++
      }
      if (points === 0 && !lines.some((l) => /^1\.\.0\b/.test(l))) {
        console.error(`bootstrap: ${relative(root, file)} reported no test (it failed to load)`)
        failed++
      }
    }
  }
  return { passed, failed, skipped }
}

async function main () {
  if (mode !== 'start' && mode !== 'test' && mode !== 'dev') {
    console.error('usage: node scripts/bootstrap.mjs start|test|dev')
    process.exit(2)
  }
  const pnpm = pnpmCommand()
  const [cmd, ...pre] = pnpm
  const install = process.env.CI === 'true' ? ['install', '--frozen-lockfile'] : ['install', '--prefer-offline']
  if (run(cmd, [...pre, ...install]) !== 0) process.exit(1)
  if (!(await checkDependencies())) process.exit(1)

  if (mode === 'test') {
    for (const d of workspaceDirs()) rmSync(join(d, '.tap', 'test-results'), { recursive: true, force: true })
    // tap builds its Test class for the configured plugins into the shared store on first use; every package has
    // the same plugin list, so build it once here rather than let parallel test runs race to write it.
    if (run(cmd, [...pre, '--filter', '@wxmp/core', 'exec', 'tap', 'build']) !== 0) process.exit(1)
    // The tests run with NATS authorization on: one test nats-server, its config rendered from the permission
    // matrix (built first), beside the shared 4222; this run stops it at the end if it started it.
    if (run(cmd, [...pre, 'exec', 'turbo', 'run', 'build', '--filter=@wxmp/nats', '--output-logs=errors-only']) !== 0) process.exit(1)
    const testNats = await import('./test-nats.mjs')
    const { url, started } = await testNats.startTestNats()
    console.log(`bootstrap: test NATS with authorization at ${url}`)
    // Lint runs with the tests so a style finding fails the run like a failing test does.
    const status = run(cmd, [...pre, 'exec', 'turbo', 'run', 'typecheck', 'lint', 'test', '--concurrency=3', '--continue'])
    if (started) await testNats.stopTestNats()
    const { passed, failed, skipped } = countTests()
    if (status !== 0 && failed === 0) console.error('bootstrap: a typecheck, lint or test task failed; its output is above')
    const failures = failed + (status !== 0 && failed === 0 ? 1 : 0)
    console.log(`tests: ${passed} passed, ${failures} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`)
    process.exit(status === 0 && failures === 0 ? 0 : 1)
  }

  if (run('node', ['scripts/dev-secrets.mjs']) !== 0) process.exit(1)

  if (mode === 'dev') {
    // `pnpm dev`: turbo's watch mode from source, against the same authorized NATS as `npm start` (the matrix on
    // 127.0.0.1:4223, each service with its identity's seed from .dev/nats/<identity>.env). The config is rendered
    // by @wxmp/nats, built first; the services themselves run from source.
    if (run(cmd, [...pre, 'exec', 'turbo', 'run', 'build', '--filter=@wxmp/nats', '--output-logs=errors-only']) !== 0) process.exit(1)
    const { startDevNats } = await import('./dev-stack.mjs')
    const nats = await startDevNats(root)
    if (nats === undefined) process.exit(1)
    console.log(`bootstrap: NATS with authorization at ${nats.url}`)
    const turbo = spawn(cmd, [...pre, 'exec', 'turbo', 'run', 'dev'], { cwd: root, stdio: 'inherit' })
    // Ctrl-C reaches turbo from the terminal; a SIGTERM or SIGHUP sent to this script only is passed on. NATS stops
    // once turbo has stopped the services.
    process.on('SIGINT', () => {})
    for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => { turbo.kill('SIGTERM') })
    const code = await new Promise((resolve) => turbo.once('exit', (c, signal) => resolve(c ?? (signal !== null ? 0 : 1))))
    await nats.stop()
    process.exit(code)
  }

  if (run(cmd, [...pre, 'exec', 'turbo', 'run', 'build', '--output-logs=errors-only']) !== 0) process.exit(1)
  const code = await import('./dev-stack.mjs').then(async (m) => await m.runStack(root))
  process.exit(code)
}

await main()
