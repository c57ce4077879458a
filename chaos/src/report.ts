import type { Outcome } from './client.js'
import type { Books } from './books.js'

export interface ScenarioResult {
  name: string
  /** What was done, in a sentence. */
  fault: string
  requests: number
  /** Answers other than 2xx by status, and network failures by error code. */
  errors: Record<string, number>
  /** Time from the end of the fault until every kind of request succeeded again; undefined without a fault window. */
  recoveryMs?: number | null
  books: Books | undefined
  /** Extra checks of the scenario (processes alive, 5xx counts...), each a problem when it fails. */
  problems: string[]
  notes: string[]
  balanced: boolean
}

/** Non-2xx answers by status and failures by error code, e.g. {"503": 4, "ECONNREFUSED": 1}. */
export function errorsByStatus (outcomes: Outcome[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const o of outcomes) {
    const k = o.status === undefined ? (o.error ?? 'NO_ANSWER') : o.status >= 200 && o.status < 300 ? undefined : String(o.status)
    if (k !== undefined) out[k] = (out[k] ?? 0) + 1
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)))
}

/**
 * Recovery: for each kind of request, the first success among requests sent after the fault ended, measured
 * from the fault's end to that answer; the slowest kind decides. null when some kind never succeeded again.
 */
export function recoveryMs (outcomes: Outcome[], faultEnd: number, kinds: string[]): number | null {
  let worst = 0
  for (const kind of kinds) {
    const first = outcomes
      .filter((o) => o.kind === kind && o.start >= faultEnd && o.status !== undefined && o.status >= 200 && o.status < 300)
      .reduce<number | undefined>((min, o) => min === undefined || o.end < min ? o.end : min, undefined)
    if (first === undefined) return null
    worst = Math.max(worst, first - faultEnd)
  }
  return worst
}

const fmtErrors = (e: Record<string, number>): string => Object.entries(e).map(([k, n]) => `${k}×${n}`).join(' ') || '-'
const fmtRecovery = (r: number | null | undefined): string => r === undefined ? '-' : r === null ? 'never' : `${(r / 1000).toFixed(2)} s`

/** The summary table as plain text, for the terminal. */
export function table (results: ScenarioResult[]): string {
  const head = ['scenario', 'requests', 'errors by status', 'recovery', 'orders', 'paid', 'events', 'shipped', 'books balanced']
  const rows = results.map((r) => [
    r.name,
    String(r.requests),
    fmtErrors(r.errors),
    fmtRecovery(r.recoveryMs),
    r.books === undefined ? '-' : String(r.books.orders),
    r.books === undefined ? '-' : String(r.books.paid),
    r.books === undefined ? '-' : String(r.books.events),
    r.books === undefined ? '-' : String(r.books.shipped),
    r.balanced ? 'yes' : 'NO'
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

/** The same table in Markdown, with each scenario's fault and any problems, for bench/results. */
export function markdown (results: ScenarioResult[], facts: Record<string, string>): string {
  const out: string[] = []
  out.push('# Chaos suite', '')
  out.push(...Object.entries(facts).map(([k, v]) => `- ${k}: ${v}`), '')
  out.push('| scenario | requests | errors by status | recovery | orders | paid | payment.succeeded events | shipped | books balanced |')
  out.push('| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |')
  for (const r of results) {
    out.push(`| ${r.name} | ${r.requests} | ${fmtErrors(r.errors)} | ${fmtRecovery(r.recoveryMs)} | ${r.books?.orders ?? '-'} | ${r.books?.paid ?? '-'} | ${r.books?.events ?? '-'} | ${r.books?.shipped ?? '-'} | ${r.balanced ? 'yes' : '**no**'} |`)
  }
  out.push('')
  for (const r of results) {
    out.push(`## ${r.name}`, '', r.fault, '')
    for (const n of r.notes) out.push(`- ${n}`)
    const problems = [...r.problems, ...(r.books?.problems ?? [])]
    for (const p of problems) out.push(`- **problem**: ${p}`)
    out.push('')
  }
  return out.join('\n')
}
