import { fileURLToPath } from 'node:url'
import { freePort, machineFacts, runLoad, startServer, table, type LoadResult } from '../harness/index.js'

const benchDir = fileURLToPath(new URL('../..', import.meta.url))

export interface LoopDelay { p50: number, p99: number, max: number }

export interface EventLoopBenchResult {
  idle: LoopDelay
  async: { delay: LoopDelay, load: LoadResult }
  sync: { delay: LoopDelay, load: LoadResult }
  text: string
  machine: Record<string, string | number>
}

/**
 * Does the event loop stay responsive while passwords hash? The server's own event-loop delay, idle and
 * under a stream of bcrypt (cost 12) verifications done off the loop (async, as auth does) and on it (sync).
 */
export async function runEventLoopBench (o: { durationS: number, connections: number, bcryptCost?: number, log?: (l: string) => void }): Promise<EventLoopBenchResult> {
  const log = o.log ?? ((line: string) => process.stdout.write(line + '\n'))
  const port = await freePort()
  const server = await startServer({ name: 'hash server', script: 'src/eventloop/hash-server.ts', cwd: benchDir, env: { PORT: String(port), BCRYPT_COST: String(o.bcryptCost ?? 12) }, waitPorts: [port] })
  const base = `http://127.0.0.1:${port}`
  const reset = async (): Promise<void> => { await fetch(`${base}/loop-delay/reset`, { method: 'POST' }) }
  const read = async (): Promise<LoopDelay> => await (await fetch(`${base}/loop-delay`)).json() as LoopDelay
  try {
    await reset()
    await new Promise((resolve) => setTimeout(resolve, o.durationS * 1000))
    const idle = await read()
    const phase = async (mode: 'async' | 'sync'): Promise<{ delay: LoopDelay, load: LoadResult }> => {
      await reset()
      const load = await runLoad({ url: `${base}/verify-${mode}`, method: 'POST', connections: o.connections, durationS: o.durationS })
      return { delay: await read(), load }
    }
    const asyncPhase = await phase('async')
    const syncPhase = await phase('sync')
    const row = (name: string, d: LoopDelay): string => `${name.padEnd(44)} ${String(d.p50).padStart(8)} ${String(d.p99).padStart(8)} ${String(d.max).padStart(8)}`
    const text = [
      table([
        { name: 'bcrypt-12 verifications, async (thread pool)', result: asyncPhase.load },
        { name: 'bcrypt-12 verifications, sync (event loop)', result: syncPhase.load }
      ]),
      '',
      `${'event-loop delay of the server'.padEnd(44)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)}`,
      row('idle', idle),
      row('while verifying async (as auth does)', asyncPhase.delay),
      row('while verifying sync (on the loop)', syncPhase.delay),
      '',
      `every other request waits up to ${syncPhase.delay.max} ms behind synchronous hashing, ${asyncPhase.delay.max} ms with the thread pool`
    ].join('\n')
    log(text)
    return { idle, async: asyncPhase, sync: syncPhase, text, machine: machineFacts() }
  } finally {
    await server.stop()
  }
}
