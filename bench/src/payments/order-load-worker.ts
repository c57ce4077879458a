import autocannon from 'autocannon'
import type { LoadOptions, LoadResult } from '../harness/index.js'

// The harness's load worker, plus autocannon's idReplacement: every `[<id>]` in the request (here the
// Idempotency-Key header) becomes a new unique id per request, so each request is a new order.
const o = JSON.parse(process.argv[2] ?? '{}') as LoadOptions
const r = await autocannon({
  url: o.url,
  connections: o.connections,
  duration: o.durationS,
  pipelining: o.pipelining ?? 1,
  method: (o.method ?? 'GET') as never,
  headers: o.headers ?? {},
  idReplacement: true,
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
