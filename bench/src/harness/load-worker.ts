import autocannon from 'autocannon'
import type { LoadOptions, LoadResult } from './load.js'

// The load generator: a process of its own, so its CPU use is visible and never slows a server's event loop.
const o = JSON.parse(process.argv[2] ?? '{}') as LoadOptions
const r = await autocannon({
  url: o.url,
  connections: o.connections,
  duration: o.durationS,
  ...(o.amount === undefined ? {} : { amount: o.amount }),
  pipelining: o.pipelining ?? 1,
  method: (o.method ?? 'GET') as never,
  headers: o.headers ?? {},
  ...(o.body === undefined ? {} : { body: o.body })
})
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
