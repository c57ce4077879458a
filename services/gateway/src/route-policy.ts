import type { Config } from './config.js'

/** Per-IP limit classes; every authenticated request also counts against its user's `RATE_LIMIT_USER_MAX`. */
export type LimitClass = 'default' | 'login' | 'refresh' | 'phone' | 'notify' | 'none'

export interface RoutePolicy {
  /** Per-IP rate-limit class. */
  limit?: LimitClass
  /** Default upstream timeout; `ROUTE_TIMEOUTS_MS` overrides it per deployment. */
  timeoutMs?: number
  /** Largest body; the global BODY_LIMIT_BYTES applies when unset. */
  bodyLimit?: number
}

/**
 * Edge policy of the routes that differ from the defaults (per-IP `default` limit, NATS_REQUEST_TIMEOUT_MS,
 * BODY_LIMIT_BYTES). Keys are `METHOD url` as registered; a route not listed gets the defaults.
 */
export const ROUTE_POLICY: Readonly<Record<string, RoutePolicy>> = {
  'POST /v1/auth/wechat/login': { limit: 'login', bodyLimit: 4096, timeoutMs: 8000 },
  'POST /v1/auth/password/login': { limit: 'login', bodyLimit: 4096 },
  'POST /v1/auth/password/register': { limit: 'login', bodyLimit: 4096 },
  'POST /v1/auth/refresh': { limit: 'refresh', bodyLimit: 4096 },
  'POST /v1/auth/wechat/phone': { limit: 'phone', bodyLimit: 4096, timeoutMs: 8000 },
  'POST /v1/auth/mfa/totp/enroll': { limit: 'login', bodyLimit: 4096 },
  'POST /v1/auth/mfa/totp/verify': { limit: 'login', bodyLimit: 4096 },
  'POST /v1/payments/orders': { bodyLimit: 4096, timeoutMs: 10000 },
  'POST /v1/payments/orders/:id/refunds': { bodyLimit: 4096, timeoutMs: 10000 },
  'POST /v1/payments/wechat/notify': { limit: 'notify', bodyLimit: 65536, timeoutMs: 10000 },
  'GET /healthz': { limit: 'none' },
  'GET /readyz': { limit: 'none' }
}

export function policyOf (method: string, url: string, table: Readonly<Record<string, RoutePolicy>> = ROUTE_POLICY): RoutePolicy {
  return table[`${method === 'HEAD' ? 'GET' : method} ${url}`] ?? {}
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
    user: s(config.RATE_LIMIT_USER_MAX)
  }
}
