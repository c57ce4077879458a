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
