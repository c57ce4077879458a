import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, type WriteStream } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, testNatsSeedFile, waitForPort } from '@wxmp/testing'
import type { Cleanup } from './cleanup.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))

/** The processes that are identities of the NATS permission matrix: each connects with its own test nkey. */
const NATS_IDENTITIES = new Set(['gateway', 'auth', 'user', 'payment'])

export interface Exit { code: number | null, signal: NodeJS.Signals | null }

/** One service process: its real entry point (`src/server.ts` through tsx), as production runs it. */
export class ServiceProcess {
  child?: ChildProcess
  /** Admin port (healthz, readyz). */
  readonly port: number
  /** Exits nobody asked for: a crash the suite reports. */
  readonly crashes: Exit[] = []
  private log?: WriteStream
  private expectExit = false
  private removeOnExit?: () => void

  constructor (
    readonly name: string,
    readonly service: string,
    private readonly env: Record<string, string>,
    private readonly logDir: string,
    private readonly cleanup: Cleanup,
    port: number,
    private readonly waitPorts: number[]
  ) {
    this.port = port
  }

  get alive (): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }

  async start (): Promise<void> {
    if (this.alive) return
    this.expectExit = false
    this.log ??= createWriteStream(join(this.logDir, `${this.name}.log`), { flags: 'a' })
    // From the service's own folder, where pnpm linked its dependencies (tsx among them).
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@wxmp/source', 'src/server.ts'], {
      cwd: join(root, 'services', this.service),
      env: { PATH: process.env.PATH, ...this.env, PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    this.child = child
    const tail: string[] = []
    const keep = (d: Buffer): void => { this.log?.write(d); tail.push(d.toString()); if (tail.length > 200) tail.shift() }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
    void exited.then((e) => { if (!this.expectExit) this.crashes.push(e) })
    this.removeOnExit?.()
    this.removeOnExit = this.cleanup.onExit(() => { child.kill('SIGKILL') })
    try {
      await Promise.race([
        (async () => { for (const p of [this.port, ...this.waitPorts]) await waitForPort(p, 90_000) })(),
        exited.then(({ code }) => { throw new Error(`exited with ${code}`) })
      ])
    } catch (err) {
      throw new Error(`${this.name} did not start: ${(err as Error).message}\n${tail.join('').slice(-4000)}`)
    }
  }

  /** SIGKILL: the process dies mid-request, as on an OOM kill or a lost node. */
  async kill (): Promise<void> {
    await this.signal('SIGKILL')
  }

  /** SIGTERM and wait: a graceful stop. */
  async stop (): Promise<void> {
    await this.signal('SIGTERM')
  }

  private async signal (sig: NodeJS.Signals): Promise<void> {
    const child = this.child
    if (child === undefined || !this.alive) return
    this.expectExit = true
    await new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.kill(sig) })
  }

  /** Is /readyz 200 (its Postgres, Redis and NATS reachable)? */
  async ready (): Promise<boolean> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.port}/readyz`, { signal: AbortSignal.timeout(2000) })
      await res.body?.cancel()
      return res.status === 200
    } catch { return false }
  }

  async close (): Promise<void> {
    await this.signal('SIGKILL')
    this.removeOnExit?.()
    await new Promise<void>((resolve) => { if (this.log === undefined) resolve(); else this.log.end(() => resolve()) })
  }
}

/**
 * Starts a service on spare ports. A spare port can be taken by another process on the machine between the pick and
 * the listen, so a start that fails with EADDRINUSE is tried again on fresh ports; `envFor` receives them.
 */
export async function startService (cleanup: Cleanup, logDir: string, name: string, service: string, envFor: (ports: number[]) => Record<string, string>, extraPorts = 0): Promise<ServiceProcess> {
  for (let attempt = 1; ; attempt++) {
    const ports = await Promise.all(Array.from({ length: extraPorts }, async () => await freePort()))
    const env: Record<string, string> = { ...(NATS_IDENTITIES.has(service) ? { NATS_NKEY_SEED_FILE: testNatsSeedFile(service) } : {}), ...envFor(ports) }
    const p = new ServiceProcess(name, service, env, logDir, cleanup, Number(env.PORT ?? await freePort()), ports)
    try {
      await p.start()
      cleanup.teardown(async () => { await p.close() })
      return p
    } catch (err) {
      await p.close()
      if (attempt >= 5 || !String((err as Error).message).includes('EADDRINUSE')) throw err
    }
  }
}
