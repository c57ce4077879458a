import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { authModeOf, PUBLIC_ROUTES, type AuthMode } from '../public-routes.js'
import { parseRouteTimeouts, policyOf, ROUTE_POLICY, type LimitClass, type RoutePolicy } from '../route-policy.js'

/** What the edge decided for a route, readable by its handler as `request.routeOptions.config.edge`. */
export interface EdgeRouteConfig {
  auth: AuthMode
  limit: LimitClass
  timeoutMs: number
}

declare module 'fastify' {
  interface FastifyContextConfig {
    edge?: EdgeRouteConfig
  }
}

export interface EdgePolicyOptions {
  config: Config
  /** Replaces PUBLIC_ROUTES (tests and benchmarks that add routes of their own). */
  publicRoutes?: Readonly<Record<string, string>>
  /** Replaces ROUTE_POLICY (tests and benchmarks). */
  routePolicy?: Readonly<Record<string, RoutePolicy>>
}

function asArray<T> (v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v]
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

/**
 * Applies the edge policy to every route registered after it: per-IP limit of its class, then
 * token verification per its auth mode, then the per-user limit; its body limit and upstream
 * timeout; and the security requirement shown in /docs. Route files stay free of edge concerns.
 */
export const edgePolicy = fp(async function edgePolicy (app: FastifyInstance, opts: EdgePolicyOptions) {
  const { config } = opts
  const timeouts = parseRouteTimeouts(config.ROUTE_TIMEOUTS_MS)
  const publicRoutes = opts.publicRoutes ?? PUBLIC_ROUTES
  const routePolicy = opts.routePolicy ?? ROUTE_POLICY

  app.addHook('onRoute', (route: RouteOptions) => {
    const method = asArray(route.method)[0] ?? 'GET'
    const id = `${method === 'HEAD' ? 'GET' : method} ${route.url}`
    const auth = authModeOf(method, route.url, publicRoutes)
    const policy = policyOf(method, route.url, routePolicy)
    const limit = policy.limit ?? 'default'
    const timeoutMs = timeouts.get(id) ?? policy.timeoutMs ?? config.NATS_REQUEST_TIMEOUT_MS
    if (route.bodyLimit === undefined && policy.bodyLimit !== undefined) route.bodyLimit = policy.bodyLimit
    route.config = { ...route.config, edge: { auth, limit, timeoutMs } }

    const hooks: Hook[] = []
    const ipLimit = limit === 'none' ? undefined : app.edgeLimits.ip[limit]
    if (auth === 'public') {
      if (ipLimit !== undefined) hooks.push(ipLimit)
    } else {
      hooks.push(guard(ipLimit, app.edgeAuth.hook(auth), app.edgeLimits.user))
    }
    route.onRequest = [...hooks, ...asArray(route.onRequest)] as never

    const schema = (route.schema ?? {}) as Record<string, unknown>
    if (schema.security === undefined) {
      schema.security = auth === 'public' ? [] : auth === 'optional' ? [{}, ...BEARER_SECURITY] : BEARER_SECURITY
    }
    route.schema = schema
  })
}, { name: 'wxmp-gateway-edge-policy', fastify: '5.x', dependencies: ['wxmp-gateway-auth', 'wxmp-gateway-rate-limits'] })
