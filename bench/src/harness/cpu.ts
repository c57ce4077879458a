import { readdirSync, readFileSync } from 'node:fs'

const TICKS_PER_S = 100

/** CPU seconds (user + system) a process has used so far, from /proc; 0 once it is gone or off Linux. */
export function cpuSecondsOf (pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S
  } catch {
    return 0
  }
}

/** Pids of every process whose command name is `comm` (e.g. the shared nats-server, redis-server, postgres). */
export function pidsNamed (comm: string): number[] {
  const out: number[] = []
  try {
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue
      try { if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === comm) out.push(Number(d)) } catch { /* exited meanwhile */ }
    }
  } catch { /* not Linux */ }
  return out
}

/** A set of named process groups whose CPU use can be read before and after a measurement. */
export class CpuMeter {
  constructor (private readonly groups: Record<string, () => number[]>) {}

  snapshot (): Record<string, number> {
    const s: Record<string, number> = {}
    for (const [name, pids] of Object.entries(this.groups)) s[name] = pids().reduce((n, pid) => n + cpuSecondsOf(pid), 0)
    return s
  }

  /** CPU seconds each group used between two snapshots. */
  static delta (before: Record<string, number>, after: Record<string, number>): Record<string, number> {
    const d: Record<string, number> = {}
    for (const k of Object.keys(after)) d[k] = Math.max(0, (after[k] ?? 0) - (before[k] ?? 0))
    return d
  }
}
