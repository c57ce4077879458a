// Runs the built stack in one terminal: each process's lines prefixed with its name, Ctrl-C stops all.
// NATS is the project's own nats-server with the config rendered from the permission matrix, on its own port
// beside the shared 4222; every process connects with its identity's nkey from .dev/nats/.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import readline from 'node:readline'
import { pathToFileURL } from 'node:url'

/** The dev stack's NATS port (the shared 4222 stays untouched). */
export const DEV_NATS_PORT = Number(process.env.DEV_NATS_PORT ?? 4223)
const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server'

/** @param {number} port */
async function listening (port) {
  return await new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

/**
 * Renders .dev/nats/nats-server.conf from the matrix (no prefix, the seeds dev-secrets made) and each identity's
 * `<identity>.env` (this server's URL and the seed file), and returns the config's path.
 * @param {string} root
 */
export async function writeDevNatsConfig (root) {
  const lib = await import(pathToFileURL(join(root, 'packages', 'nats', 'dist', 'index.js')).href)
  const dir = join(root, '.dev', 'nats')
  /** @type {Record<string, string>} */
  const nkeys = {}
  for (const id of lib.NATS_IDENTITIES) nkeys[id] = lib.nkeyPublicKey(readFileSync(join(dir, `${id}.nk`), 'utf8'))
  const storeDir = join(dir, 'jetstream')
  mkdirSync(storeDir, { recursive: true, mode: 0o700 })
  const file = join(dir, 'nats-server.conf')
  writeFileSync(file, lib.renderServerConfig({ prefix: '', nkeys, listen: `127.0.0.1:${DEV_NATS_PORT}`, storeDir }), { mode: 0o600 })
  // `pnpm dev` (turbo's `dev` tasks) reads each service's identity from `.dev/nats/<identity>.env`, beside dev.env.
  for (const id of lib.NATS_IDENTITIES) {
    writeFileSync(join(dir, `${id}.env`), `NATS_URL=nats://127.0.0.1:${DEV_NATS_PORT}\nNATS_NKEY_SEED_FILE=${join(dir, `${id}.nk`)}\n`, { mode: 0o600 })
  }
  return { file, identities: /** @type {string[]} */ (lib.NATS_IDENTITIES) }
}

/**
 * Starts the dev stack's nats-server (the matrix rendered into .dev/nats/, JetStream in .dev/nats/jetstream/) on
 * DEV_NATS_PORT in a process group of its own, so a Ctrl-C in the terminal reaches the caller, which stops NATS
 * last, after the services have drained. Resolves once it listens; `undefined` (with the reason printed) if it cannot.
 * @param {string} root
 * @param {{ label?: string, onExit?: (code: number | null, signal: NodeJS.Signals | null) => void }} [opts]
 */
export async function startDevNats (root, opts = {}) {
  const label = opts.label ?? 'nats |'
  if (await listening(DEV_NATS_PORT)) {
    console.error(`wxmp: port ${DEV_NATS_PORT} is taken (is \`npm start\` or \`pnpm dev\` running?); stop what listens there or set DEV_NATS_PORT`)
    return undefined
  }
  const { file, identities } = await writeDevNatsConfig(root)
  const nats = spawn(NATS_SERVER_BIN, ['-c', file], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  for (const stream of [nats.stdout, nats.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => { if (/\[(ERR|WRN|FTL)\]/.test(line)) process.stdout.write(`${label} ${line}\n`) })
  }
  const exited = new Promise((resolve) => nats.once('exit', (code, signal) => {
    opts.onExit?.(code, signal)
    resolve(code ?? 0)
  }))
  const deadline = Date.now() + 15_000
  while (!(await listening(DEV_NATS_PORT))) {
    if (Date.now() > deadline || nats.exitCode !== null) {
      console.error(`wxmp: nats-server did not listen on ${DEV_NATS_PORT}`)
      nats.kill('SIGKILL')
      return undefined
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    url: `nats://127.0.0.1:${DEV_NATS_PORT}`,
    identities,
    exited,
    /** Stops the server and waits for it. */
    async stop () {
      if (nats.exitCode === null && nats.signalCode === null) nats.kill('SIGTERM')
      return await exited
    }
  }
}

/** Start order: what others call first; the gateway last, once the services answer. */
export const STACK = [
  { name: 'wechat-sim', color: 35 },
  { name: 'auth', color: 36 },
  { name: 'user', color: 32 },
  { name: 'payment', color: 33 },
  { name: 'gateway', color: 34 }
]

export async function runStack (root) {
  const envFile = join(root, '.dev', 'dev.env')
  const children = new Map()
  let stopping = false
  const width = Math.max(...STACK.map((s) => s.name.length))
  const tty = process.stdout.isTTY

  const stopAll = (signal) => {
    if (stopping) return
    stopping = true
    for (const child of children.values()) child.kill(signal)
  }

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => stopAll('SIGTERM'))
  const natsLabel = tty ? `\x1b[90m${'nats'.padEnd(width)}\x1b[0m |` : `${'nats'.padEnd(width)} |`
  let natsDied = false
  const nats = await startDevNats(root, {
    label: natsLabel,
    onExit: (code, signal) => {
      if (stopping) return
      natsDied = true
      process.stdout.write(`${natsLabel} exited (${signal ?? code}); stopping the stack\n`)
      stopAll('SIGTERM')
    }
  })
  if (nats === undefined) return 1
  const { identities } = nats
  /** @param {string} name */
  const natsEnv = (name) => identities.includes(name)
    ? { NATS_URL: `nats://127.0.0.1:${DEV_NATS_PORT}`, NATS_NKEY_SEED_FILE: join(root, '.dev', 'nats', `${name}.nk`) }
    : {}

  const exited = STACK.filter((s) => existsSync(join(root, 'services', s.name, 'dist', 'server.js'))).map((s) => new Promise((resolve) => {
    const child = spawn(process.execPath, [`--env-file=${envFile}`, join('services', s.name, 'dist', 'server.js')], {
      cwd: root,
      env: { ...process.env, LOG_PRETTY: tty ? 'true' : 'false', ...natsEnv(s.name) },
      stdio: ['ignore', 'pipe', 'pipe'],
      // A group of its own: Ctrl-C reaches this script once, which then stops each service exactly once.
      detached: true
    })
    children.set(s.name, child)
    const label = tty ? `\x1b[${s.color}m${s.name.padEnd(width)}\x1b[0m |` : `${s.name.padEnd(width)} |`
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => { process.stdout.write(`${label} ${line}\n`) })
    }
    child.on('exit', (code, signal) => {
      children.delete(s.name)
      if (!stopping) {
        process.stdout.write(`${label} exited (${signal ?? code}); stopping the stack\n`)
        stopAll('SIGTERM')
      }
      resolve(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1))
    })
  }))

  console.log(`wxmp: gateway https://localhost:8443 (http://localhost:8080 redirects), WeChat simulator http://localhost:9100, NATS nats://127.0.0.1:${DEV_NATS_PORT}; Ctrl-C stops everything`)
  const codes = await Promise.all(exited)
  // NATS stops last, once every service has drained its connection.
  stopping = true
  await nats.stop()
  if (natsDied) codes.push(1)
  return stopping && codes.every((c) => c === 0) ? 0 : Math.max(...codes, 1)
}
