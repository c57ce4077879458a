#!/usr/bin/env node
// Proves that `npm start` + `npm run demo` work from cold, again and again: each run starts the stack with nothing
// of it running and JetStream empty, waits until every process says it is ready (/readyz 200 on the admin ports of
// the gateway, auth, user and payment), runs the demo at once, then stops the stack (as Ctrl-C does) and waits
// for every port to close. It stops at the first failure and prints how many runs passed in a row.
//   node scripts/cold-start-demo.mjs [--runs 10] [--fresh]
// --fresh also deletes .dev/ before each run (new secrets, keys and NATS identities, as a fresh clone makes them),
// all but the test suite's .dev/test-nats/.
// Postgres databases are kept: they live on the shared server, and migrations skip what is applied.
import { spawn } from 'node:child_process'
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import https from 'node:https'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    fresh: { type: 'boolean', default: false },
    'timeout-s': { type: 'string', default: '240' }
  }
})
const runs = Number(opts.runs)
const timeoutMs = Number(opts['timeout-s']) * 1000
const DEV_NATS_PORT = Number(process.env.DEV_NATS_PORT ?? 4223)
/** What `npm start` listens on: the gateway's HTTPS and redirect, the simulator, the admin ports, NATS. */
const PORTS = [8443, 8080, 9100, 9090, 9091, 9092, 9093, DEV_NATS_PORT]
/** Readiness of every process, on their admin ports: the gateway, auth, user, payment. */
const READY = ['http://127.0.0.1:9090/readyz', 'http://127.0.0.1:9091/readyz', 'http://127.0.0.1:9092/readyz', 'http://127.0.0.1:9093/readyz']
const logs = mkdtempSync(join(tmpdir(), 'wxmp-cold-start-'))

/** @param {number} port */
async function listening (port) {
  return await new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

/** @param {string} url @returns {Promise<number>} the status, 0 when nothing answers */
async function status (url) {
  const caFile = join(root, '.dev', 'tls', 'cert.pem')
  const u = new URL(url)
  const mod = u.protocol === 'https:' ? https : http
  return await new Promise((resolve) => {
    const req = mod.get(u, { ca: existsSync(caFile) ? readFileSync(caFile) : undefined, timeout: 2000 }, (res) => { res.resume(); resolve(res.statusCode ?? 0) })
    req.on('error', () => resolve(0))
    req.on('timeout', () => { req.destroy(); resolve(0) })
  })
}

/** @param {() => Promise<boolean>} check @param {number} ms */
async function until (check, ms) {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  return await check()
}

/** @param {string} file */
const tail = (file) => existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-25).join('\n') : ''

/** @param {number} i */
async function run (i) {
  const taken = []
  for (const p of PORTS) if (await listening(p)) taken.push(p)
  if (taken.length > 0) return { ok: false, why: `not cold: ports ${taken.join(', ')} are taken (another stack runs?)` }
  // The test suite's server and seeds (.dev/test-nats/) are not the stack's, and may be in use.
  // A fresh clone has no .dev/ yet: nothing to delete.
  const dev = join(root, '.dev')
  if (opts.fresh && existsSync(dev)) for (const f of readdirSync(dev).filter((f) => f !== 'test-nats')) rmSync(join(dev, f), { recursive: true, force: true })
  else rmSync(join(root, '.dev', 'nats', 'jetstream'), { recursive: true, force: true })

  const stackLog = join(logs, `run-${i}-stack.log`)
  const out = createWriteStream(stackLog)
  const started = Date.now()
  // Its own process group, so stopping it is the Ctrl-C of a terminal.
  const stack = spawn('npm', ['start'], { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  stack.stdout.pipe(out)
  stack.stderr.pipe(out)
  const stackExited = new Promise((resolve) => stack.once('exit', (code) => resolve(code)))
  const stop = async () => {
    try { process.kill(-(/** @type {number} */ (stack.pid)), 'SIGINT') } catch {}
    const closed = await until(async () => !(await Promise.all(PORTS.map(listening))).some(Boolean), 30_000)
    await Promise.race([stackExited, new Promise((resolve) => setTimeout(resolve, 10_000))])
    return closed
  }

  let exited = false
  void stackExited.then(() => { exited = true })
  const ready = await until(async () => exited || (await Promise.all(READY.map(status))).every((s) => s === 200), timeoutMs)
  if (!ready || exited) {
    await stop()
    return { ok: false, why: `${exited ? 'the stack exited' : 'not ready'} after ${((Date.now() - started) / 1000).toFixed(1)} s; its log (${stackLog}) ends:\n${tail(stackLog)}` }
  }
  const readyS = (Date.now() - started) / 1000

  const demoLog = join(logs, `run-${i}-demo.log`)
  const demo = spawn(process.execPath, [join(root, 'scripts', 'demo.mjs'), '--quiet'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  const demoOut = createWriteStream(demoLog)
  demo.stdout.pipe(demoOut)
  demo.stderr.pipe(demoOut)
  const demoCode = await new Promise((resolve) => demo.once('exit', (code) => resolve(code)))
  const closed = await stop()
  if (demoCode !== 0) return { ok: false, why: `the demo failed (ready after ${readyS.toFixed(1)} s); its log (${demoLog}) ends:\n${tail(demoLog)}` }
  if (!closed) return { ok: false, why: `the stack did not stop: a port is still open; its log (${stackLog}) ends:\n${tail(stackLog)}` }
  return { ok: true, why: `ready after ${readyS.toFixed(1)} s, demo passed, stopped` }
}

let passed = 0
for (let i = 1; i <= runs; i++) {
  const r = await run(i)
  console.log(`run ${i}/${runs}: ${r.ok ? 'ok' : 'FAILED'}, ${r.why}`)
  if (!r.ok) break
  passed++
}
console.log(`cold start + demo: ${passed} of ${runs} runs passed in a row${opts.fresh ? ' (fresh .dev/ each run)' : ''}; logs in ${logs}`)
process.exit(passed === runs ? 0 : 1)
