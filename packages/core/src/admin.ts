import type { FastifyInstance, FastifyReply } from 'fastify'
import fp from 'fastify-plugin'
import { createHash, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { getHeapSnapshot } from 'node:v8'
import { Type } from '@sinclair/typebox'
import { ConfigError } from './config.js'
import { Errors, annotate, type AppError } from './errors.js'
import { metricsRegistry, startDefaultMetrics } from './metrics.js'

export interface AdminOptions {
  service: string
  /** Longest CPU profile one request may ask for. */
  maxProfileSeconds?: number
  /** Bearer token the `/debug/*` routes require; without one they are not served at all. */
  token?: string
}

/** The admin token from `ADMIN_TOKEN_FILE` (a mounted Secret) or `ADMIN_TOKEN`; undefined when neither is set. */
export function adminToken (config: { ADMIN_TOKEN: string, ADMIN_TOKEN_FILE: string }): string | undefined {
  if (config.ADMIN_TOKEN !== '' && config.ADMIN_TOKEN_FILE !== '') {
    throw new ConfigError([{ variable: 'ADMIN_TOKEN', problem: 'and ADMIN_TOKEN_FILE are both set; set one' }])
  }
  if (config.ADMIN_TOKEN_FILE === '') return config.ADMIN_TOKEN === '' ? undefined : config.ADMIN_TOKEN
  let token: string
  try {
    token = readFileSync(config.ADMIN_TOKEN_FILE, 'utf8').trim()
  } catch (err) {
    throw new ConfigError([{ variable: 'ADMIN_TOKEN_FILE', problem: `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` }])
  }
  if (token.length < 16) throw new ConfigError([{ variable: 'ADMIN_TOKEN_FILE', problem: 'must hold a token of at least 16 characters' }])
  return token
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest()

/** Equal-length digests, so neither the comparison nor the token's length leaks through timing. */
function tokenMatches (header: string | undefined, expected: Buffer): boolean {
  const m = /^Bearer (\S+)$/.exec(header ?? '')
  return timingSafeEqual(digest(m?.[1] ?? ''), expected) && m !== null
}

let profiling = false

// Sent here rather than thrown: the admin listener may have no error envelope, and a 501 must not become a 500.
async function refuse (reply: FastifyReply, err: AppError, traceId: string | undefined): Promise<FastifyReply> {
  return await reply.code(err.statusCode).send({ error: { code: err.code, message: err.message, traceId } })
}

/**
 * The internal admin surface, for the admin port only (never routed through the gateway):
 * `/metrics` (Prometheus), `/debug/pprof/profile?seconds=N` (a V8 CPU profile, `.cpuprofile`, opens in
 * speedscope and Chrome DevTools), `/debug/pprof/heap` (a V8 heap snapshot), `/debug/log-level`, and
 * `/debug/gc` (a full collection, when the process runs with --expose-gc). `/metrics` is open to the cluster's
 * monitoring; every `/debug/*` route exists only when `token` is set, and then requires it as a bearer token.
 */
export const admin = fp(async function admin (app: FastifyInstance, opts: AdminOptions) {
  startDefaultMetrics(opts.service)
  const maxSeconds = opts.maxProfileSeconds ?? 120

  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    return await reply.type(metricsRegistry.contentType).send(await metricsRegistry.metrics())
  })

  // Heap snapshots expose every secret in memory, and profiles and log levels cost the process: operators only.
  if (opts.token === undefined || opts.token === '') return
  await app.register(debugRoutes, { ...opts, token: opts.token, maxProfileSeconds: maxSeconds })
}, { name: 'wxmp-admin', fastify: '5.x' })

/** The `/debug/*` routes, in their own context so the token check applies to them alone. */
async function debugRoutes (app: FastifyInstance, opts: AdminOptions & { token: string, maxProfileSeconds: number }): Promise<void> {
  const maxSeconds = opts.maxProfileSeconds
  const expected = digest(opts.token)
  app.addHook('onRequest', async (request, reply) => {
    if (tokenMatches(request.headers.authorization, expected)) return
    const err = annotate(new Errors.Unauthenticated('Admin token required'), { headers: { 'www-authenticate': 'Bearer realm="admin"' } })
    void reply.headers(err.headers ?? {})
    return await refuse(reply, err, request.trace?.traceId)
  })

  app.get('/debug/pprof/profile', {
    schema: { querystring: Type.Object({ seconds: Type.Integer({ minimum: 1, maximum: maxSeconds, default: 30 }) }) }
  }, async (request, reply) => {
    if (profiling) return await refuse(reply, new Errors.ProfileRunning(), request.trace?.traceId)
    profiling = true
    const session = new Session()
    session.connect()
    try {
      const { seconds } = request.query as { seconds: number }
      await session.post('Profiler.enable')
      await session.post('Profiler.setSamplingInterval', { interval: 1000 })
      await session.post('Profiler.start')
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
      const { profile } = await session.post('Profiler.stop')
      const name = `${opts.service}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`
      return await reply.header('content-disposition', `attachment; filename="${name}"`).type('application/json').send(JSON.stringify(profile))
    } finally {
      session.disconnect()
      profiling = false
    }
  })

  app.get('/debug/pprof/heap', async (_request, reply) => {
    const name = `${opts.service}-${new Date().toISOString().replace(/[:.]/g, '-')}.heapsnapshot`
    return await reply.header('content-disposition', `attachment; filename="${name}"`).type('application/json').send(getHeapSnapshot())
  })

  // Only with node --expose-gc: lets a soak test tell a leak (growth that survives a full GC) from garbage.
  app.post('/debug/gc', async (request, reply) => {
    const gc = (globalThis as { gc?: () => void }).gc
    if (gc === undefined) return await refuse(reply, new Errors.GcNotExposed(), request.trace?.traceId)
    gc()
    const m = process.memoryUsage()
    return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external }
  })

  app.get('/debug/log-level', async () => ({ level: app.log.level }))
  app.put('/debug/log-level', {
    schema: { body: Type.Object({ level: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))) }) }
  }, async (request) => {
    const { level } = request.body as { level: string }
    const previous = app.log.level
    app.log.level = level
    app.log.warn({ previous, level }, 'log level changed')
    return { level, previous }
  })
}
