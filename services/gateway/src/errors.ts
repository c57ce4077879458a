import { annotate, createError, Errors, type AppError } from '@wxmp/core'

/** The gateway's own catalogue: what the edge answers before a request reaches a service. */
export const GatewayErrors = {
  RateLimited: createError<[number]>('RATE_LIMITED', 'Too many requests, retry in %s seconds', 429, {
    meaning: 'This client sent more requests than the route allows (per IP, or per user for signed-in routes)',
    action: 'Wait the Retry-After seconds; the RateLimit-* headers say the limit and when it resets'
  }),
  SessionCheckUnavailable: createError('SESSION_CHECK_UNAVAILABLE', 'Sessions cannot be checked right now, retry shortly', 503, {
    meaning: 'This gateway cannot confirm it knows every recent sign-out (the revocation store is unreachable), so it accepts no signed-in request rather than a signed-out one',
    action: 'Retry after the Retry-After seconds; public routes still work'
  }),
  Overloaded: createError('OVERLOADED', 'The gateway is overloaded, retry later', 503, {
    meaning: 'The gateway is shedding load to stay responsive',
    action: 'Retry after the Retry-After seconds, with backoff'
  }),
  IdempotencyKeyMissing: createError('IDEMPOTENCY_KEY_MISSING', 'Send an Idempotency-Key header: one unique value per intended payment, repeated unchanged on every retry of it', 400, {
    meaning: 'A payment request came without an Idempotency-Key header',
    action: 'Send one unique Idempotency-Key per intended payment, and the same one on every retry of it'
  }),
  IdempotencyKeyInvalid: createError('IDEMPOTENCY_KEY_INVALID', 'The Idempotency-Key header must be 1 to 255 printable ASCII characters, bare or as a quoted string', 400, {
    meaning: 'The Idempotency-Key header is empty, too long, or not printable ASCII',
    action: 'Use 1 to 255 printable ASCII characters, for example a UUID'
  }),
  HeadersTooLarge: createError('HEADERS_TOO_LARGE', 'The request headers are too large', 431, {
    meaning: 'The request headers are larger than the gateway accepts',
    action: 'Send fewer or smaller headers (cookies, custom headers)'
  }),
  RequestTimeout: createError('REQUEST_TIMEOUT', 'The request did not arrive in time', 408, {
    meaning: 'The request headers or body did not arrive in time; the connection is closed',
    action: 'Retry on a new connection'
  }),
  UriTooLong: createError('URI_TOO_LONG', 'A part of the URL is too long', 414, {
    meaning: 'A path segment of the URL is longer than the gateway accepts',
    action: 'Use the ids the API returned; do not retry unchanged'
  }),
  MethodNotAllowed: createError<[string, string]>('METHOD_NOT_ALLOWED', 'Method %s is not allowed on %s', 405, {
    meaning: 'The path exists but not with this method; the Allow header lists the methods it has',
    action: 'Use a method from Allow (a mini-program updates its profile with PUT, since wx.request has no PATCH)'
  })
}

/** 401 with the RFC 6750 challenge; `invalid` adds error="invalid_token" for a token that was sent but refused. */
export function unauthenticated (message: string, invalid: boolean): AppError {
  return annotate(new Errors.Unauthenticated(message), {
    headers: { 'www-authenticate': invalid ? `Bearer realm="wxmp", error="invalid_token", error_description="${message}"` : 'Bearer realm="wxmp"' }
  })
}

export function rateLimited (retryAfterS: number, headers: Record<string, string>): AppError {
  return annotate(new GatewayErrors.RateLimited(retryAfterS), { headers: { ...headers, 'retry-after': String(retryAfterS) } })
}

export function overloaded (retryAfterS: number): AppError {
  return annotate(new GatewayErrors.Overloaded(), { headers: { 'retry-after': String(retryAfterS) } })
}
