import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, NATS_SERVER_BIN, REDIS_SERVER_BIN, waitForPort } from '@wxmp/testing'
import type { Cleanup } from './cleanup.js'

/** A server process the suite owns on a spare port; `stop()` kills it (SIGKILL, as a crash), `start()` brings it back on the same port and data. */
export interface OwnedServer {
  port: number
  url: string
  stop: () => Promise<void>
  start: () => Promise<void>
}

async function ownedServer (cleanup: Cleanup, scheme: string, command: string, args: (port: number, dir: string) => string[]): Promise<OwnedServer> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'wxmp-chaos-srv-'))
  let child: ChildProcess | undefined
  const removeOnExit = cleanup.onExit(() => { child?.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }) })
  const server: OwnedServer = {
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    async start () {
      if (child !== undefined) return
      const c = spawn(command, args(port, dir), { stdio: 'ignore' })
      child = c
      c.on('exit', () => { if (child === c) child = undefined })
      await waitForPort(port, 20_000)
    },
    async stop () {
      const c = child
      if (c === undefined) return
      await new Promise<void>((resolve) => { c.once('exit', () => resolve()); c.kill('SIGKILL') })
      child = undefined
    }
  }
  cleanup.teardown(async () => { await server.stop(); rmSync(dir, { recursive: true, force: true }); removeOnExit() })
  await server.start()
  return server
}

/** nats-server with JetStream, its store in a folder that survives restarts (streams and KV come back). */
export async function ownedNats (cleanup: Cleanup): Promise<OwnedServer> {
  return await ownedServer(cleanup, 'nats', NATS_SERVER_BIN, (port, dir) => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir])
}

/** redis-server that keeps nothing: a restart loses every key, as a failover to an empty replica would. */
export async function ownedRedis (cleanup: Cleanup): Promise<OwnedServer> {
  return await ownedServer(cleanup, 'redis', REDIS_SERVER_BIN, (port, dir) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir])
}
