import type { LoadResult } from './load.js'

export interface Measured { name: string, result: LoadResult }

const pad = (s: string, n: number): string => s.length >= n ? s : s + ' '.repeat(n - s.length)
const lpad = (s: string, n: number): string => s.length >= n ? s : ' '.repeat(n - s.length) + s

/** A fixed-width table of every scenario: req/s, latency percentiles, errors. */
export function table (rows: Measured[]): string {
  const head = `${pad('scenario', 44)}${lpad('req/s', 10)}${lpad('p50 ms', 9)}${lpad('p99 ms', 9)}${lpad('max ms', 9)}${lpad('errors', 8)}${lpad('non-2xx', 9)}`
  const lines = rows.map(({ name, result: r }) =>
    `${pad(name, 44)}${lpad(r.rps.toFixed(0), 10)}${lpad(String(r.p50), 9)}${lpad(String(r.p99), 9)}${lpad(String(r.max), 9)}${lpad(String(r.errors), 8)}${lpad(String(r.non2xx), 9)}`)
  return [head, '-'.repeat(head.length), ...lines].join('\n')
}

/** `a`'s throughput as a fraction of `b`'s, both measured in the same run. */
export function ratio (a: LoadResult, b: LoadResult): number {
  return b.rps === 0 ? 0 : a.rps / b.rps
}

const median = (xs: number[]): number => {
  if (xs.length === 0) return 0
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] as number : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

/**
 * Several rounds of one scenario as one result: medians of req/s and latency percentiles (robust to
 * a round disturbed by other work on the machine), sums of requests and errors, the worst max.
 */
export function combine (rounds: LoadResult[]): LoadResult {
  const codes: Record<string, number> = {}
  for (const r of rounds) for (const [k, v] of Object.entries(r.statusCodes)) codes[k] = (codes[k] ?? 0) + v
  return {
    requests: rounds.reduce((n, r) => n + r.requests, 0),
    rps: median(rounds.map((r) => r.rps)),
    p50: median(rounds.map((r) => r.p50)),
    p90: median(rounds.map((r) => r.p90)),
    p99: median(rounds.map((r) => r.p99)),
    max: Math.max(0, ...rounds.map((r) => r.max)),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
    statusCodes: codes,
    loadgenCpuS: rounds.reduce((n, r) => n + (r.loadgenCpuS ?? 0), 0)
  }
}

/**
 * Process groups a deployment does not run: the load generator, the WeChat simulator (WeChat's own servers in
 * production) and the benchmark's stand-ins. Everything else (gateway, services, nats-server, redis-server,
 * postgres) is production.
 */
export const NOT_PRODUCTION: ReadonlySet<string> = new Set(['loadgen', 'wechat simulator', 'stand-in services', 'hello server'])

/** CPU milliseconds per request of the production processes alone (see NOT_PRODUCTION). */
export function productionCpuMs (cpu: Record<string, number>, requests: number): number {
  let s = 0
  for (const [k, v] of Object.entries(cpu)) if (!NOT_PRODUCTION.has(k)) s += v
  return s * 1000 / Math.max(1, requests)
}

/** CPU milliseconds each process group spent per request: where a scenario's time goes, and the production total. */
export function cpuPerRequest (name: string, cpu: Record<string, number>, requests: number): string {
  const parts = Object.entries(cpu).filter(([, s]) => s > 0).map(([k, s]) => `${k} ${(s * 1000 / Math.max(1, requests)).toFixed(3)}`)
  return `${name}: CPU ms per request: ${parts.join(', ')}; production ${productionCpuMs(cpu, requests).toFixed(3)}`
}
