import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
export { freePort } from '@wxmp/testing'

export interface ServerProcess {
  name: string
  pid: number
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop: (graceMs?: number) => Promise<void>
  /** Last lines it wrote, for error messages. */
  tail: () => string
}

export interface StartOptions {
  name: string
  /** Script run through tsx with the workspace's source condition. */
  script: string
  cwd: string
  env: Record<string, string>
  /** Ports that must accept connections before the server counts as started. */
  waitPorts: number[]
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[]
  timeoutMs?: number
}

async function portOpen (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

/**
 * Starts a server under test as its own process (so it never shares an event loop or a core
 * scheduling slot with the load generator), and waits until its ports accept connections.
 */
export async function startServer (o: StartOptions): Promise<ServerProcess> {
  const lines: string[] = []
  const child: ChildProcess = spawn(process.execPath, [...(o.nodeArgs ?? []), '--import', 'tsx', '--conditions=@wxmp/source', o.script], {
    cwd: o.cwd,
    // The gateway, login and payments benchmarks run on the shared NATS beside stand-ins answering bench subjects
    // outside the permission matrix (a bench gateway's routes call them), so their processes connect without
    // credentials. A benchmark of real services only (the soak) passes each its identity on the authorized test
    // server (`testNatsEnv`), which takes precedence.
    env: { PATH: process.env.PATH ?? '', NATS_ALLOW_ANONYMOUS: 'true', ...o.env },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  child.stderr?.on('data', (c: Buffer) => { lines.push(String(c)); if (lines.length > 50) lines.shift() })
  let exited = false
  const exit = new Promise<void>((resolve) => child.on('exit', () => { exited = true; resolve() }))
  const deadline = Date.now() + (o.timeoutMs ?? 60000)
  for (const port of o.waitPorts) {
    while (!(await portOpen(port))) {
      if (exited) throw new Error(`${o.name} exited before listening:\n${lines.join('')}`)
      if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`${o.name} did not listen on ${port}:\n${lines.join('')}`) }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  return {
    name: o.name,
    pid: child.pid ?? -1,
    tail: () => lines.join(''),
    async stop (graceMs = 10000) {
      if (exited) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exit
      clearTimeout(timer)
    }
  }
}
