/**
 * How a route treats an access token:
 * - `public`: not looked at (login, refresh, WeChat's callbacks, probes, docs);
 * - `optional`: verified when sent, so the handler knows the caller if there is one;
 * - `required`: the default for every route not listed here; missing or invalid -> 401.
 */
export type AuthMode = 'public' | 'optional' | 'required'

/**
 * The only place a route is opened to callers without a token. Keys are `METHOD url` exactly as
 * the route is registered; HEAD follows its GET. Anything not listed requires a valid token.
 */
export const PUBLIC_ROUTES: Readonly<Record<string, Exclude<AuthMode, 'required'>>> = {
  'POST /v1/auth/wechat/login': 'public',
  'POST /v1/auth/refresh': 'public',
  'POST /v1/auth/password/login': 'optional',
  'POST /v1/auth/password/register': 'optional',
  'POST /v1/payments/wechat/notify': 'public',
  'GET /v1/payments/products': 'public',
  'GET /v1/ping': 'public',
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /docs': 'public',
  'GET /docs/json': 'public'
}

export function authModeOf (method: string, url: string, table: Readonly<Record<string, string>> = PUBLIC_ROUTES): AuthMode {
  const m = method === 'HEAD' ? 'GET' : method
  const mode = table[`${m} ${url}`]
  return mode === 'public' || mode === 'optional' ? mode : 'required'
}
