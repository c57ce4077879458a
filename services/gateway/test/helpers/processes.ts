import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { NATS_IDENTITIES } from '@wxmp/nats'
import { freePort, testNatsEnv, waitForPort, type Teardown } from '@wxmp/testing'

export interface ServiceProcess {
  name: string
  child: ChildProcess
  /** Admin port (healthz, readyz, metrics). */
  port: number
  output: string[]
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

const root = fileURLToPath(new URL('../../../../', import.meta.url))

/**
 * Runs a service's real entry point (src/server.ts through tsx) as its own process, as production does; a
 * process of the permission matrix connects as its identity to the test nats-server.
 */
export async function startProcess (t: Teardown, name: string, env: Record<string, string>, waitPorts: number[] = []): Promise<ServiceProcess> {
  const port = Number(env.PORT ?? await freePort())
  const nats = (NATS_IDENTITIES as readonly string[]).includes(name) ? await testNatsEnv(name) : {}
  // From the service's own folder, where pnpm linked its dependencies (tsx among them).
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@wxmp/source', 'src/server.ts'], {
    cwd: `${root}services/${name}`,
    env: { PATH: process.env.PATH, LOG_LEVEL: 'info', ...nats, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const output: string[] = []
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()))
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()))
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited }
  })
  try {
    await Promise.race([
      (async () => { for (const p of [port, ...waitPorts]) await waitForPort(p, 60000) })(),
      exited.then(({ code }) => { throw new Error(`exited with ${code}`) })
    ])
  } catch (err) {
    throw new Error(`${name} did not start: ${(err as Error).message}\n${output.join('')}`)
  }
  return { name, child, port, output, exited }
}
