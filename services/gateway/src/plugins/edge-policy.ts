import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { assertRole, assertStepUp } from '@wxmp/core'
import type { Config } from '../config.js'
import { EDGE_ROUTES, parseRouteTimeouts, routeKey, splitRouteId, type AuthMode, type EdgeRoute, type EdgeTable, type LimitClass } from '../edge-routes.js'

/** What the edge decided for a route, readable by its handler as `request.routeOptions.config.edge`. */
export interface EdgeRouteConfig {
  auth: AuthMode
  limit: LimitClass
  timeoutMs: number
  role?: 'staff' | 'admin'
  stepUp?: 'credentials' | 'money'
}

declare module 'fastify' {
  interface FastifyContextConfig {
    edge?: EdgeRouteConfig
  }
}

export interface EdgePolicyOptions {
  config: Config
  /** Replaces EDGE_ROUTES (tests and benchmarks that add routes of their own). */
  edgeRoutes?: EdgeTable
}

/** A gateway route and the edge table disagree; the gateway does not boot. */
export class EdgeTableError extends Error {
  override name = 'EdgeTableError'
}

function asArray<T> (v: T | readonly T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? [...v as readonly T[]] : [v as T]
}

const BEARER_SECURITY = [{ bearerAuth: [] }]

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

/** Settles to the error a hook threw, or undefined; attached at once so a rejection is never unhandled. */
const settle = async (p: Promise<void>): Promise<unknown> => await p.then(() => undefined, (err: unknown) => err)

/**
 * Per-IP limit, token, per-user limit, in one Redis round trip's time: the IP counter is sent before
 * the token is verified and the user counter right after, and both answers are awaited together.
 * Over the IP limit wins over a bad token (429, not 401), so guessing tokens is limited like anything else.
 */
function guard (ipLimit: Hook | undefined, authenticate: Hook, userLimit: Hook): Hook {
  return async function edgeGuard (request, reply) {
    const ip = ipLimit === undefined ? undefined : settle(ipLimit(request, reply))
    try {
      await authenticate(request, reply)
    } catch (err) {
      const ipErr = await ip
      throw ipErr ?? err
    }
    const [ipErr, userErr] = await Promise.all([ip, settle(userLimit(request, reply))])
    if (ipErr !== undefined) throw ipErr
    if (userErr !== undefined) throw userErr
  }
}

const sameEntry = (a: EdgeRoute, b: EdgeRoute): boolean =>
  a.auth === b.auth && a.limit === b.limit && a.timeoutMs === b.timeoutMs && a.bodyLimit === b.bodyLimit && a.role === b.role && a.stepUp === b.stepUp

/**
 * The route's role and step-up columns, judged from the verified token after the guard: 403 FORBIDDEN below the
 * role, 401 AUTH_REAUTH_REQUIRED when the last authentication is too old (or lacks TOTP for money). An optional
 * route's anonymous caller is not judged (there is no account to step up).
 */
function access (entry: EdgeRoute, config: Config): Hook | undefined {
  const { role, stepUp } = entry
  if (role === undefined && stepUp === undefined) return undefined
  const windowS = stepUp === 'money' ? config.STEP_UP_MONEY_S : config.STEP_UP_CREDENTIALS_S
  return async function edgeAccess (request) {
    if (request.trace.userId === undefined) return
    if (role !== undefined) assertRole(role, request.trace)
    if (stepUp !== undefined) assertStepUp(stepUp, request.trace, windowS)
  }
}

/** The one entry a route gets; every method of a multi-method route must have the same. */
function entryOf (route: RouteOptions, table: EdgeTable): { key: string, entry: EdgeRoute } {
  const found = asArray(route.method).map((method) => {
    const key = routeKey(method, route.url, table)
    const entry = table[key]
    if (entry === undefined) throw new EdgeTableError(`Route ${method} ${route.url} has no entry in the edge table (src/edge-routes.ts): add one with its auth mode and limit class`)
    return { key, entry }
  })
  const first = found[0]
  if (first === undefined) throw new EdgeTableError(`Route ${route.url} has no method`)
  for (const other of found) {
    if (!sameEntry(other.entry, first.entry)) {
      throw new EdgeTableError(`Route ${route.url} is registered for several methods whose edge entries differ (${first.key}, ${other.key}): register them separately`)
    }
  }
  return first
}

/** Routes registered before this plugin (the foundation's probes) get no edge hooks; their entries must say so. */
const OUTSIDE_THE_EDGE: EdgeRoute = { auth: 'public', limit: 'none' }

/**
 * Applies the edge table to every route registered after it: per-IP limit of its class, then token
 * verification per its auth mode, then the per-user limit; its body limit and upstream timeout; and
 * the security requirement shown in /docs. Route files stay free of edge concerns. At boot a route
 * without an entry, an entry without a route and a ROUTE_TIMEOUTS_MS item naming no route each stop
 * the gateway with an error naming them.
 */
export const edgePolicy = fp(async function edgePolicy (app: FastifyInstance, opts: EdgePolicyOptions) {
  const { config } = opts
  const table: EdgeTable = opts.edgeRoutes ?? EDGE_ROUTES
  const timeouts = parseRouteTimeouts(config.ROUTE_TIMEOUTS_MS)
  const applied = new Set<string>()

  app.addHook('onRoute', (route) => {
    const { key, entry } = entryOf(route, table)
    applied.add(key)
    const { auth, limit } = entry
    const timeoutMs = timeouts.get(key) ?? entry.timeoutMs ?? config.NATS_REQUEST_TIMEOUT_MS
    if (route.bodyLimit === undefined && entry.bodyLimit !== undefined) route.bodyLimit = entry.bodyLimit
    route.config = { ...route.config, edge: { auth, limit, timeoutMs, ...(entry.role === undefined ? {} : { role: entry.role }), ...(entry.stepUp === undefined ? {} : { stepUp: entry.stepUp }) } }

    const hooks: Hook[] = []
    const ipLimit = limit === 'none' ? undefined : app.edgeLimits.ip[limit]
    if (auth === 'public') {
      if (entry.role !== undefined || entry.stepUp !== undefined) throw new EdgeTableError(`Route ${key} is public but names a role or step-up: make it 'required'`)
      if (ipLimit !== undefined) hooks.push(ipLimit)
    } else {
      hooks.push(guard(ipLimit, app.edgeAuth.hook(auth), app.edgeLimits.user))
      const judge = access(entry, config)
      if (judge !== undefined) hooks.push(judge)
    }
    const own: onRequestHookHandler[] = asArray(route.onRequest)
    route.onRequest = [...hooks, ...own]

    const schema = route.schema ?? {}
    // /docs shows who may call a route and what sign-in it needs.
    const needs = [entry.role === undefined ? '' : `Role: ${entry.role} or above.`, entry.stepUp === undefined ? '' : `Step-up: ${entry.stepUp} (a recent sign-in${entry.stepUp === 'money' ? ' with TOTP' : ''}, else 401 AUTH_REAUTH_REQUIRED).`].filter((x) => x !== '').join(' ')
    if (needs !== '') {
      schema.description = schema.description === undefined ? needs : `${schema.description}\n\n${needs}`
      const ext = schema as Record<string, unknown>
      if (entry.role !== undefined) ext['x-wxmp-role'] = entry.role
      if (entry.stepUp !== undefined) ext['x-wxmp-step-up'] = entry.stepUp
    }
    if (schema.security === undefined) {
      schema.security = auth === 'public' ? [] : auth === 'optional' ? [{}, ...BEARER_SECURITY] : BEARER_SECURITY
    }
    route.schema = schema
  })

  app.addHook('onReady', async () => {
    for (const [key, entry] of Object.entries(table)) {
      if (applied.has(key)) continue
      const { method, url } = splitRouteId(key)
      if (!app.hasRoute({ method, url })) {
        throw new EdgeTableError(`Edge table entry '${key}' matches no registered route: fix the key or remove the entry`)
      }
      if (!sameEntry(entry, OUTSIDE_THE_EDGE)) {
        throw new EdgeTableError(`Route ${key} is registered before the edge policy, which cannot apply its entry: it must be ${JSON.stringify(OUTSIDE_THE_EDGE)}`)
      }
    }
    for (const key of timeouts.keys()) {
      if (table[key] === undefined) throw new EdgeTableError(`ROUTE_TIMEOUTS_MS names '${key}', which is no gateway route`)
    }
  })
}, { name: 'wxmp-gateway-edge-policy', fastify: '5.x', dependencies: ['wxmp-gateway-auth', 'wxmp-gateway-rate-limits'] })
