import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

/** A readiness probe of one dependency: resolves true when it is reachable. */
export type ReadinessCheck = () => Promise<boolean> | boolean

export interface Readiness {
  /** Registers a dependency that /readyz reports by name. */
  add: (name: string, check: ReadinessCheck) => void
  /**
   * Registers a fact /readyz shows under `details.<name>` without deciding readiness (e.g. whether WeChat manages
   * the mini-program's orders): what an operator wants to see next to the checks, read when /readyz is asked.
   */
  detail: (name: string, read: () => unknown) => void
  /** Runs every check; each gets `timeoutMs` before it counts as down. */
  run: () => Promise<{ ready: boolean, checks: Record<string, 'ok' | 'down'>, details?: Record<string, unknown> }>
  /** Set on shutdown so load balancers stop sending traffic before the listener closes. */
  draining: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    readiness: Readiness
  }
}

async function withTimeout (check: ReadinessCheck, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      Promise.resolve().then(check),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms) })
    ])
  } catch {
    return false
  } finally {
    clearTimeout(timer)
  }
}

export interface HealthOptions {
  /** How long one dependency check may take before it counts as down. */
  timeoutMs?: number
  /** Serve `/readyz` here; false when the app serves it itself, behind its own policy (the gateway rate-limits it). */
  readyz?: boolean
}

/** The `/readyz` answer: 200 when every check passes, else 503 naming the checks that are down, or `draining`. */
export async function readyzAnswer (readiness: Readiness): Promise<{ statusCode: number, body: Record<string, unknown> }> {
  const { ready, checks, details } = await readiness.run()
  const extra = details === undefined ? {} : { details }
  if (readiness.draining) return { statusCode: 503, body: { status: 'draining', checks, ...extra } }
  if (!ready) {
    const down = Object.entries(checks).filter(([, v]) => v === 'down').map(([k]) => k)
    return { statusCode: 503, body: { status: 'unavailable', down, checks, ...extra } }
  }
  return { statusCode: 200, body: { status: 'ok', checks, ...extra } }
}

/** `/healthz` (the process is alive) and `/readyz` (every registered dependency answers; 503 naming the ones that do not). */
export const health = fp(async function health (app: FastifyInstance, opts: HealthOptions) {
  const timeoutMs = opts.timeoutMs ?? 1000
  const checks = new Map<string, ReadinessCheck>()
  const details = new Map<string, () => unknown>()
  const readiness: Readiness = {
    draining: false,
    add (name, check) { checks.set(name, check) },
    detail (name, read) { details.set(name, read) },
    async run () {
      const names = [...checks.keys()]
      const results = await Promise.all(names.map(async (n) => await withTimeout(checks.get(n) as ReadinessCheck, timeoutMs)))
      const out: Record<string, 'ok' | 'down'> = {}
      names.forEach((n, i) => { out[n] = results[i] === true ? 'ok' : 'down' })
      if (details.size === 0) return { ready: results.every(Boolean), checks: out }
      return { ready: results.every(Boolean), checks: out, details: Object.fromEntries([...details].map(([n, read]) => [n, read()])) }
    }
  }
  app.decorate('readiness', readiness)

  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }))
  if (opts.readyz === false) return
  app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
    const { statusCode, body } = await readyzAnswer(readiness)
    return await reply.code(statusCode).send(body)
  })
}, { name: 'wxmp-health', fastify: '5.x' })
