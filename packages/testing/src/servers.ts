import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, waitForPort } from './ids.js'
import type { Teardown } from './teardown.js'

/** A server process this test owns on a spare port: stop and start it freely, the shared one is never touched. */
export interface PrivateServer {
  port: number
  url: string
  stop: () => Promise<void>
  start: () => Promise<void>
}

async function privateServer (t: Teardown, scheme: string, command: string, args: (port: number, dir: string) => string[]): Promise<PrivateServer> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'wxmp-srv-'))
  let child: ChildProcess | undefined
  const server: PrivateServer = {
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    async start () {
      if (child !== undefined) return
      child = spawn(command, args(port, dir), { stdio: 'ignore' })
      child.on('exit', () => { child = undefined })
      await waitForPort(port)
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
  })
  await server.start()
  return server
}

export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server'
export const REDIS_SERVER_BIN = process.env.REDIS_SERVER_BIN ?? 'redis-server'

/**
 * A private nats-server with JetStream. With `config`, the server loads the file it returns for the port and
 * store directory instead (it must turn JetStream on itself); command-line flags keep the address and port.
 */
export async function privateNats (t: Teardown, opts: { config?: (port: number, storeDir: string) => string } = {}): Promise<PrivateServer> {
  return await privateServer(t, 'nats', NATS_SERVER_BIN, (port, dir) => {
    const listen = ['-a', '127.0.0.1', '-p', String(port)]
    if (opts.config === undefined) return [...listen, '-js', '-sd', dir]
    const file = join(dir, 'nats-server.conf')
    writeFileSync(file, opts.config(port, dir), { mode: 0o600 })
    return ['-c', file, ...listen]
  })
}

/** A private redis-server that keeps nothing on disk. */
export async function privateRedis (t: Teardown): Promise<PrivateServer> {
  return await privateServer(t, 'redis', REDIS_SERVER_BIN, (port, dir) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir])
}
