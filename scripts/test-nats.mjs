#!/usr/bin/env node
// The test suite's nats-server: authorization on, config rendered from the permission matrix for any per-test
// subject prefix, one nkey per identity in .dev/test-nats/ (made once), JetStream in a temp folder, on a fixed
// port beside the shared 4222. `start` is idempotent (test files call it through @wxmp/testing when nothing
// listens yet); `stop` ends the server this script started. Needs @wxmp/nats built (packages/nats/dist).
import { spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
export const TEST_NATS_PORT = Number(process.env.WXMP_TEST_NATS_PORT ?? 4224)
const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server'
/** Tests use a random `t<hex>.` prefix each; one wildcard token admits them all under the same matrix. */
const ANY_TEST_PREFIX = '*.'

/** @param {number} port */
async function listening (port) {
  return await new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

/** @param {() => Promise<boolean>} check @param {number} ms */
async function until (check, ms) {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return await check()
}

/**
 * Writes the seeds (once) and the config (every time, so a changed matrix reaches a running server by reload).
 * @param {string} dir @param {number} port
 */
export async function writeTestNatsConfig (dir, port) {
  const lib = await import(pathToFileURL(join(root, 'packages', 'nats', 'dist', 'index.js')).href)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  /** @type {Record<string, string>} */
  const nkeys = {}
  for (const id of lib.NATS_IDENTITIES) {
    const file = join(dir, `${id}.nk`)
    if (!existsSync(file)) writeFileSync(file, lib.createNkeyUser().seed + '\n', { mode: 0o600 })
    nkeys[id] = lib.nkeyPublicKey(readFileSync(file, 'utf8'))
  }
  // The operator reads streams (messages by sequence, or an ordered consumer) and deletes a stream (a test playing
  // its loss): tests check what services published. It sends and answers no service subject.
  const operatorFile = join(dir, 'operator.nk')
  if (!existsSync(operatorFile)) writeFileSync(operatorFile, lib.createNkeyUser().seed + '\n', { mode: 0o600 })
  const operator = {
    nkey: lib.nkeyPublicKey(readFileSync(operatorFile, 'utf8')),
    permissions: {
      publish: {
        allow: ['$JS.API.INFO', '$JS.API.STREAM.INFO.*', '$JS.API.STREAM.MSG.GET.*', '$JS.API.DIRECT.GET.*', '$JS.API.DIRECT.GET.*.>', '$JS.API.STREAM.DELETE.*',
          '$JS.API.CONSUMER.CREATE.*', '$JS.API.CONSUMER.CREATE.*.>', '$JS.API.CONSUMER.INFO.*.*', '$JS.API.CONSUMER.DELETE.*.*',
          '$JS.API.CONSUMER.MSG.NEXT.*.*', '$JS.FC.*.>']
      },
      subscribe: { allow: [`${lib.inboxPrefix('operator', ANY_TEST_PREFIX)}.>`] }
    }
  }
  const storeDir = join(tmpdir(), `wxmp-test-nats-${port}`)
  const config = lib.renderServerConfig({ prefix: ANY_TEST_PREFIX, nkeys, extraUsers: [operator], listen: `127.0.0.1:${port}`, storeDir })
  const file = join(dir, 'nats-server.conf')
  const changed = !existsSync(file) || readFileSync(file, 'utf8') !== config
  if (changed) writeFileSync(file, config, { mode: 0o600 })
  return { file, changed }
}

/** Starts the test server unless it runs; returns its URL and whether this call started it. */
export async function startTestNats (dir = join(root, '.dev', 'test-nats'), port = TEST_NATS_PORT) {
  const url = `nats://127.0.0.1:${port}`
  const pidFile = join(dir, 'server.pid')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  // Test files start in parallel: one of them writes and starts, the others wait for the port.
  const lock = join(dir, 'start.lock')
  if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 30_000) rmSync(lock, { force: true })
  let fd
  try { fd = openSync(lock, 'wx') } catch {
    if (!(await until(async () => !existsSync(lock) && await listening(port), 30_000))) throw new Error(`test nats-server did not come up on port ${port}`)
    return { url, started: false }
  }
  try {
    const { file, changed } = await writeTestNatsConfig(dir, port)
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : undefined
    if (await listening(port)) {
      if (pid === undefined) throw new Error(`port ${port} is taken by a server this project did not start; set WXMP_TEST_NATS_PORT`)
      if (changed) process.kill(pid, 'SIGHUP')
      return { url, started: false }
    }
    const child = spawn(NATS_SERVER_BIN, ['-c', file], { detached: true, stdio: 'ignore' })
    child.unref()
    writeFileSync(pidFile, String(child.pid))
    if (!(await until(async () => await listening(port), 15_000))) throw new Error(`test nats-server did not listen on port ${port}`)
    return { url, started: true }
  } finally {
    closeSync(fd)
    rmSync(lock, { force: true })
  }
}

/** Stops the test server this script started, if it runs. */
export async function stopTestNats (dir = join(root, '.dev', 'test-nats'), port = TEST_NATS_PORT) {
  const pidFile = join(dir, 'server.pid')
  if (!existsSync(pidFile)) return
  const pid = Number(readFileSync(pidFile, 'utf8'))
  try { process.kill(pid, 'SIGTERM') } catch {}
  rmSync(pidFile, { force: true })
  await until(async () => !(await listening(port)), 10_000)
  rmSync(join(tmpdir(), `wxmp-test-nats-${port}`), { recursive: true, force: true })
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const cmd = process.argv[2]
  if (cmd === 'start') {
    const { url, started } = await startTestNats()
    if (started) console.log(`test-nats: started ${url}`)
  } else if (cmd === 'stop') {
    await stopTestNats()
  } else {
    console.error('usage: node scripts/test-nats.mjs start|stop')
    process.exit(2)
  }
}
