import autocannon from 'autocannon'
import { readFileSync } from 'node:fs'
import type { LoadOptions, LoadResult } from './load.js'

// The load generator: a process of its own, so its CPU use is visible and never slows a server's event loop.
const o = JSON.parse(process.argv[2] ?? '{}') as LoadOptions
const bodies = o.bodiesFile === undefined ? undefined : readFileSync(o.bodiesFile, 'utf8').split('\n').filter((l) => l !== '')
let next = 0
const amount = bodies === undefined ? o.amount : Math.min(o.amount ?? Infinity, bodies.length)
const r = await autocannon({
  url: o.url,
  connections: o.connections,
  duration: o.durationS,
  ...(amount === undefined ? {} : { amount }),
  pipelining: o.pipelining ?? 1,
  method: (o.method ?? 'GET') as never,
  headers: o.headers ?? {},
  ...(o.body === undefined ? {} : { body: o.body }),
  ...(o.idReplacement === true ? { idReplacement: true } : {}),
  ...(bodies === undefined ? {} : { requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, body: bodies[next++ % bodies.length] }) }] })
} as never) as autocannon.Result
const codes: Record<string, number> = {}
for (const [k, v] of Object.entries(r.statusCodeStats ?? {})) codes[k] = (v as { count: number }).count
const result: LoadResult = {
  requests: r.requests.total,
  rps: r.requests.average,
  p50: r.latency.p50,
  p90: r.latency.p90,
  p99: r.latency.p99,
  max: r.latency.max,
  errors: r.errors + r.timeouts,
  non2xx: r.non2xx,
  statusCodes: codes,
  loadgenCpuS: (process.cpuUsage().user + process.cpuUsage().system) / 1e6
}
process.stdout.write(JSON.stringify(result))
