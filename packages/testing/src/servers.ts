import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, waitForPort } from './ids.js'
import type { Teardown } from './teardown.js'
import { ensureTestNats, TEST_NATS_CONFIG } from './test-nats.js'

/** A server process this test owns on a spare port: stop and start it freely, the shared one is never touched. */
export interface PrivateServer {
  port: number
  url: string
  stop: () => Promise<void>
  start: () => Promise<void>
}

/**
 * Who owns a private server: a tap Test, or a longer-lived owner (the chaos suite) that can also register a
 * synchronous last-resort step for when its process exits, so a crash or Ctrl-C leaves no server behind.
 */
export interface ServerOwner extends Teardown {
  onExit?: (fn: () => void) => () => void
}

export interface PrivateServerOptions {
  /** How long the server may take to listen (default 10 s). */
  startTimeoutMs?: number
}

async function privateServer (t: ServerOwner, scheme: string, command: string, args: (port: number, dir: string) => string[], opts: PrivateServerOptions = {}): Promise<PrivateServer> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'wxmp-srv-'))
  let child: ChildProcess | undefined
  const removeOnExit = t.onExit?.(() => { child?.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }) })
  const server: PrivateServer = {
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    async start () {
      if (child !== undefined) return
      const c = spawn(command, args(port, dir), { stdio: 'ignore' })
      child = c
      // a late exit of a killed instance must not forget the one started after it
      c.on('exit', () => { if (child === c) child = undefined })
      await waitForPort(port, opts.startTimeoutMs)
    },
    async stop () {
      const c = child
      if (c === undefined) return
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve())
        c.kill('SIGKILL')
      })
      child = undefined
    }
  }
  t.teardown(async () => {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
    removeOnExit?.()
  })
  await server.start()
  return server
}

export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server'
export const REDIS_SERVER_BIN = process.env.REDIS_SERVER_BIN ?? 'redis-server'

/**
 * A private nats-server with JetStream, its store in a folder that survives restarts (streams and KV come back).
 * It loads the test server's config (the permission matrix, the identities' test nkeys: connect with
 * `testNatsEnv`). With `config`, the server loads the file it returns for the port and store directory instead
 * (it must turn JetStream on itself); command-line flags keep the address and port. `anonymous` leaves
 * authorization off, for fixture services that are not in the matrix.
 */
/**
 * The test server's config (JetStream, the permission matrix, the identities' test nkeys) with another server's own
 * listener and store (the flags cannot replace a store_dir the file sets).
 */
async function matrixConfig (): Promise<(port: number, storeDir: string) => string> {
  await ensureTestNats()
  const text = readFileSync(TEST_NATS_CONFIG, 'utf8')
  return (port, storeDir) => text
    .replace(/^listen: .*$/m, `listen: "127.0.0.1:${port}"`)
    .replace(/^(\s*)store_dir: .*$/m, (_m, indent: string) => `${indent}store_dir: ${JSON.stringify(storeDir)}`)
}

export async function privateNats (t: ServerOwner, opts: PrivateServerOptions & { config?: (port: number, storeDir: string) => string, anonymous?: boolean } = {}): Promise<PrivateServer> {
  const { anonymous, ...rest } = opts
  let config = opts.config
  if (config === undefined && anonymous !== true) config = await matrixConfig()
  return await privateServer(t, 'nats', NATS_SERVER_BIN, (port, dir) => {
    const listen = ['-a', '127.0.0.1', '-p', String(port)]
    if (config === undefined) return [...listen, '-js', '-sd', dir]
    const file = join(dir, 'nats-server.conf')
    writeFileSync(file, config(port, dir), { mode: 0o600 })
    return ['-c', file, ...listen]
  }, rest)
}

/** A private redis-server that keeps nothing: a restart loses every key, as a failover to an empty replica would. */
export async function privateRedis (t: ServerOwner, opts?: PrivateServerOptions): Promise<PrivateServer> {
  return await privateServer(t, 'redis', REDIS_SERVER_BIN, (port, dir) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], opts)
}

/** One server of a private JetStream cluster, with its monitoring port (`/jsz`, `/connz`) and server name. */
export interface ClusterNode extends PrivateServer {
  name: string
  monitorUrl: string
}

/**
 * Private nats-servers forming one JetStream cluster (three by default, the smallest that survives losing one),
 * each on spare client, cluster and monitoring ports with its store in a folder that survives a restart. A node
 * stopped and started again rejoins on the same ports. Resolves once every node accepts clients; the cluster
 * elects its meta leader by itself shortly after (wait for it with `/jsz` when it matters). Like `privateNats`, every
 * node loads the permission matrix and the identities' test nkeys (connect with `testNatsEnv`) unless `anonymous`.
 */
export async function privateNatsCluster (t: ServerOwner, opts: PrivateServerOptions & { size?: number, anonymous?: boolean } = {}): Promise<ClusterNode[]> {
  const { size = 3, anonymous, ...rest } = opts
  const tag = Math.random().toString(36).slice(2, 8)
  const routes = await Promise.all(Array.from({ length: size }, async () => await freePort()))
  const monitors = await Promise.all(Array.from({ length: size }, async () => await freePort()))
  // Each node authorizes clients as the single test server does; a cluster of anonymous nodes would let a process
  // publish what the matrix forbids it, and the suite prove nothing about the permissions on a cluster.
  const base = anonymous === true ? (_port: number, dir: string) => `jetstream { store_dir: ${JSON.stringify(dir)} }\n` : await matrixConfig()
  return await Promise.all(routes.map(async (routePort, i) => {
    const name = `n${i + 1}-${tag}`
    const server = await privateNats(t, {
      ...rest,
      config: (port, dir) => base(port, dir) + [
        `server_name: "${name}"`,
        `http_port: ${monitors[i] as number}`,
        `cluster {\n  name: "c-${tag}"\n  listen: "127.0.0.1:${routePort}"\n  routes: [${routes.filter((_p, j) => j !== i).map((p) => `"nats-route://127.0.0.1:${p}"`).join(', ')}]\n}`
      ].join('\n') + '\n'
    })
    return { ...server, name, monitorUrl: `http://127.0.0.1:${monitors[i] as number}` }
  }))
}
