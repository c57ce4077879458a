import autocannon from 'autocannon'
import { readFileSync } from 'node:fs'
import type { LoadResult } from '../harness/index.js'

// A login per request, each with a wx.login code of its own (codes are single-use), read from a file the
// benchmark filled from the simulator before the measured window. The run ends when the codes do.
const o = JSON.parse(process.argv[2] ?? '{}') as { url: string, connections: number, durationS: number, codesFile: string }
const codes = readFileSync(o.codesFile, 'utf8').split('\n').filter((c) => c !== '')
let next = 0
const r = await autocannon({
  url: o.url,
  connections: o.connections,
  duration: o.durationS,
  amount: codes.length,
  requests: [{
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    setupRequest: (req: Record<string, unknown>) => ({ ...req, body: JSON.stringify({ code: codes[next++ % codes.length] }) })
  }]
} as never)
const codesUsed: Record<string, number> = {}
for (const [k, v] of Object.entries(r.statusCodeStats ?? {})) codesUsed[k] = (v as { count: number }).count
const result: LoadResult = {
  requests: r.requests.total,
  rps: r.requests.average,
  p50: r.latency.p50,
  p90: r.latency.p90,
  p99: r.latency.p99,
  max: r.latency.max,
  errors: r.errors + r.timeouts,
  non2xx: r.non2xx,
  statusCodes: codesUsed,
  loadgenCpuS: (process.cpuUsage().user + process.cpuUsage().system) / 1e6
}
process.stdout.write(JSON.stringify(result))
