import type { Stack } from '../stack.js'

/** How long each part of a scenario lasts and how hard the load pushes. */
export interface Timing {
  /** Load before the fault. */
  warmupMs: number
  /** How long the fault lasts (a server down, the simulator misbehaving). */
  faultMs: number
  /** Load after the fault ends. */
  afterMs: number
  /** Concurrent virtual users. */
  vus: number
  /** Most time allowed for paid orders to reach the books after the load stops. */
  settleMs: number
}

export const SHORT: Timing = { warmupMs: 1500, faultMs: 2500, afterMs: 3000, vus: 6, settleMs: 45_000 }
export const FULL: Timing = { warmupMs: 10_000, faultMs: 10_000, afterMs: 15_000, vus: 16, settleMs: 90_000 }

export interface ScenarioContext {
  stack: Stack
  timing: Timing
  log: (line: string) => void
}

export const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
