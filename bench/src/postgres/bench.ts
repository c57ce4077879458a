import { fileURLToPath } from 'node:url'
import { testDatabase } from '@wxmp/testing'
import { freePort, machineFacts, ratio, runLoad, startServer, table, type LoadResult } from '../harness/index.js'

const benchDir = fileURLToPath(new URL('../..', import.meta.url))

export interface PoolBenchResult { pooled: LoadResult, unpooled: LoadResult, pooledOverUnpooled: number, text: string, machine: Record<string, string | number> }

/** The same query through a connection pool and through a new connection per request, in one run. */
export async function runPoolBench (o: { durationS: number, warmupS: number, connections: number, log?: (l: string) => void }): Promise<PoolBenchResult> {
  const log = o.log ?? ((line: string) => process.stdout.write(line + '\n'))
  const cleanups: Array<() => unknown> = []
  const port = await freePort()
  const server = await startServer({
    name: 'pool server',
    script: 'src/postgres/pool-server.ts',
    cwd: benchDir,
    env: { PORT: String(port), DATABASE_URL: await testDatabase({ teardown: (fn) => { cleanups.push(fn) } }, 'bench_pool') },
    waitPorts: [port]
  })
  try {
    const results: LoadResult[] = []
    for (const path of ['/pooled', '/unpooled']) {
      const url = `http://127.0.0.1:${port}${path}`
      if (o.warmupS > 0) await runLoad({ url, connections: o.connections, durationS: o.warmupS })
      results.push(await runLoad({ url, connections: o.connections, durationS: o.durationS }))
    }
    const [pooled, unpooled] = results as [LoadResult, LoadResult]
    const measured = [{ name: 'Postgres read, pooled (10 connections)', result: pooled }, { name: 'Postgres read, connection per request', result: unpooled }]
    const pooledOverUnpooled = ratio(pooled, unpooled)
    const text = [table(measured), '', `pooled / unpooled: ${pooledOverUnpooled.toFixed(1)}x the throughput`].join('\n')
    log(text)
    return { pooled, unpooled, pooledOverUnpooled, text, machine: machineFacts() }
  } finally {
    await server.stop()
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {})
  }
}
