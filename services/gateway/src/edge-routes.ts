import type { HTTPMethods } from 'fastify'
import type { Config } from './config.js'

/**
 * How a route treats an access token:
 * - `public`: not looked at (login, refresh, WeChat's callbacks, probes, docs);
 * - `optional`: verified when sent, so the handler knows the caller if there is one;
 * - `required`: missing or invalid -> 401.
 */
export type AuthMode = 'public' | 'optional' | 'required'

/** Per-IP limit classes; every authenticated request also counts against its user's `RATE_LIMIT_USER_MAX`. */
export type LimitClass = 'default' | 'login' | 'refresh' | 'phone' | 'notify' | 'push' | 'probe' | 'none'

/** The edge policy of one route. */
export interface EdgeRoute {
  /** Whether and how the access token is verified. */
  auth: AuthMode
  /** Per-IP rate-limit class. */
  limit: LimitClass
  /** Upstream timeout; NATS_REQUEST_TIMEOUT_MS when unset, and `ROUTE_TIMEOUTS_MS` overrides it per deployment. */
  timeoutMs?: number
  /** Largest body; BODY_LIMIT_BYTES when unset. */
  bodyLimit?: number
  /** The least role the caller's token must carry (admin includes staff); unset: any caller the auth mode admits. 403 FORBIDDEN below it. */
  role?: 'staff' | 'admin'
  /**
   * A fresh authentication this route needs (step-up), judged from the token's `auth_time` and `amr`:
   * - `credentials`: a WeChat login or password + TOTP within STEP_UP_CREDENTIALS_S (binding a password, TOTP
   *   changes, deleting the account);
   * - `money`: a TOTP within STEP_UP_MONEY_S (staff refunds and other money actions).
   * Older or weaker -> 401 AUTH_REAUTH_REQUIRED.
   */
  stepUp?: 'credentials' | 'money'
}

/** Edge policies keyed by `METHOD url`, the url exactly as registered (`:id` parameters included). */
export type EdgeTable = Readonly<Record<string, EdgeRoute>>

/**
 * Every public route of the gateway and its edge policy. The edge-policy plugin applies an entry to
 * the route it names, and refuses to boot when a registered route has no entry or an entry names
 * no registered route, so a misspelled key cannot quietly give a route the wrong limit or auth mode.
 * HEAD follows its GET.
 */
export const EDGE_ROUTES = {
  'POST /v1/auth/wechat/login': { auth: 'public', limit: 'login', bodyLimit: 4096, timeoutMs: 8000 },
  'POST /v1/auth/refresh': { auth: 'public', limit: 'refresh', bodyLimit: 4096 },
  'POST /v1/auth/logout': { auth: 'required', limit: 'default' },
  'POST /v1/auth/logout-all': { auth: 'required', limit: 'default' },
  // Binding a password to a signed-in user, or a TOTP to an account, needs a fresh sign-in: a stolen access token
  // must not turn into a permanent credential. A new password-only account (no token) is not a step-up.
  'POST /v1/auth/password/register': { auth: 'optional', limit: 'login', bodyLimit: 4096, stepUp: 'credentials' },
  'POST /v1/auth/password/login': { auth: 'optional', limit: 'login', bodyLimit: 4096 },
  'POST /v1/auth/reauth': { auth: 'required', limit: 'login', bodyLimit: 4096, timeoutMs: 8000 },
  'POST /v1/auth/mfa/totp/enroll': { auth: 'required', limit: 'login', bodyLimit: 4096, stepUp: 'credentials' },
  'POST /v1/auth/mfa/totp/verify': { auth: 'required', limit: 'login', bodyLimit: 4096 },
  'POST /v1/auth/wechat/phone': { auth: 'required', limit: 'phone', bodyLimit: 4096, timeoutMs: 8000 },
  'GET /v1/auth/sessions': { auth: 'required', limit: 'default' },
  'DELETE /v1/auth/sessions/:id': { auth: 'required', limit: 'default' },

  'GET /v1/users/me': { auth: 'required', limit: 'default' },
  'PUT /v1/users/me': { auth: 'required', limit: 'default' },
  'PATCH /v1/users/me': { auth: 'required', limit: 'default' },
  // Erasure cannot be undone: a stolen token is not enough, the user signs in again first.
  'DELETE /v1/users/me': { auth: 'required', limit: 'default', stepUp: 'credentials' },

  // Support finds users and disables an account at once (reversible, protective); enabling gives access back, so it
  // needs a fresh TOTP like money actions.
  'GET /v1/admin/users': { auth: 'required', limit: 'default', role: 'staff' },
  'POST /v1/admin/users/:id/disable': { auth: 'required', limit: 'default', role: 'staff' },
  'POST /v1/admin/users/:id/enable': { auth: 'required', limit: 'default', role: 'staff', stepUp: 'money' },

  'GET /v1/payments/products': { auth: 'public', limit: 'default' },
  'POST /v1/payments/orders': { auth: 'required', limit: 'default', bodyLimit: 4096, timeoutMs: 10000 },
  'GET /v1/payments/orders': { auth: 'required', limit: 'default' },
  'GET /v1/payments/orders/:id': { auth: 'required', limit: 'default' },
  'POST /v1/payments/orders/:id/pay-params': { auth: 'required', limit: 'default', timeoutMs: 10000 },
  'POST /v1/payments/orders/:id/refund-requests': { auth: 'required', limit: 'default', bodyLimit: 4096 },
  'POST /v1/payments/orders/:id/cancel': { auth: 'required', limit: 'default', timeoutMs: 10000 },
  'POST /v1/payments/wechat/notify': { auth: 'public', limit: 'notify', bodyLimit: 65536, timeoutMs: 10000 },
  // WeChat waits 5 s for a push's answer, then retries: answering later only earns a duplicate.
  'GET /v1/wechat/push': { auth: 'public', limit: 'push', bodyLimit: 1024, timeoutMs: 4000 },
  'POST /v1/wechat/push': { auth: 'public', limit: 'push', bodyLimit: 65536, timeoutMs: 4000 },

  // The merchant's staff API: staff and admins only; actions that move money need a recent TOTP as well.
  'GET /v1/admin/orders': { auth: 'required', limit: 'default', role: 'staff' },
  'GET /v1/admin/orders/:id': { auth: 'required', limit: 'default', role: 'staff' },
  'POST /v1/admin/orders/:id/refunds': { auth: 'required', limit: 'default', role: 'staff', stepUp: 'money', bodyLimit: 4096, timeoutMs: 10000 },
  'POST /v1/admin/orders/:id/ship': { auth: 'required', limit: 'default', role: 'staff', bodyLimit: 4096, timeoutMs: 10000 },
  'POST /v1/admin/orders/:id/close': { auth: 'required', limit: 'default', role: 'staff', stepUp: 'money', timeoutMs: 10000 },
  'POST /v1/admin/refund-requests/:id/approve': { auth: 'required', limit: 'default', role: 'staff', stepUp: 'money', timeoutMs: 10000 },
  'POST /v1/admin/refund-requests/:id/decline': { auth: 'required', limit: 'default', role: 'staff', bodyLimit: 4096 },

  // Admins manage staff: a fresh TOTP sign-in, like every action that can move money.
  'POST /v1/admin/staff': { auth: 'required', limit: 'default', bodyLimit: 4096, role: 'admin', stepUp: 'money' },
  'PUT /v1/admin/staff/:userId/role': { auth: 'required', limit: 'default', bodyLimit: 1024, role: 'admin', stepUp: 'money' },

  'GET /v1/ping': { auth: 'public', limit: 'default' },
  'GET /healthz': { auth: 'public', limit: 'none' },
  // Each call checks Redis and NATS, so on the public listener it is counted like any request, in a class of its own.
  'GET /readyz': { auth: 'public', limit: 'probe' },
  'GET /docs': { auth: 'public', limit: 'default' },
  'GET /docs/json': { auth: 'public', limit: 'default' }
} as const satisfies EdgeTable

/** The id of a gateway route: a key of EDGE_ROUTES, so a route file naming one that does not exist fails to compile. */
export type RouteId = keyof typeof EDGE_ROUTES

/** The `METHOD url` key of a registered route; a HEAD route is its GET's twin when the table has that GET. */
export function routeKey (method: string, url: string, table: EdgeTable): string {
  const key = `${method} ${url}`
  if (method === 'HEAD' && table[key] === undefined) return `GET ${url}`
  return key
}

/** Splits a route id into the method and url Fastify registers. */
export function splitRouteId (id: string): { method: HTTPMethods, url: string } {
  const i = id.indexOf(' ')
  return { method: id.slice(0, i) as HTTPMethods, url: id.slice(i + 1) }
}

/** The method and url of a route of the table, for `app.route({ ...routeOf('GET /v1/users/me'), schema, handler })`. */
export function routeOf (id: RouteId): { method: HTTPMethods, url: string } {
  return splitRouteId(id)
}

/** Parses ROUTE_TIMEOUTS_MS (`METHOD /url=ms,...`). */
export function parseRouteTimeouts (value: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const item of value.split(',')) {
    const i = item.lastIndexOf('=')
    if (i < 0) continue
    out.set(item.slice(0, i).trim(), Number(item.slice(i + 1)))
  }
  return out
}

/** Requests per window of each class, after RATE_LIMIT_MAX_SCALE. */
export function limitsOf (config: Config): Record<Exclude<LimitClass, 'none'> | 'user', number> {
  const s = (n: number): number => Math.max(1, Math.floor(n * config.RATE_LIMIT_MAX_SCALE))
  return {
    default: s(config.RATE_LIMIT_DEFAULT_MAX),
    login: s(config.RATE_LIMIT_LOGIN_MAX),
    refresh: s(config.RATE_LIMIT_REFRESH_MAX),
    phone: s(config.RATE_LIMIT_PHONE_MAX),
    notify: s(config.RATE_LIMIT_NOTIFY_MAX),
    push: s(config.RATE_LIMIT_PUSH_MAX),
    probe: s(config.RATE_LIMIT_PROBE_MAX),
    user: s(config.RATE_LIMIT_USER_MAX)
  }
}
