import { createError, type AppError } from '@wxmp/core'

const RateLimitedError = createError<[number]>('RATE_LIMITED', 'Too many requests, retry in %s seconds', 429)
const OverloadedError = createError('OVERLOADED', 'The gateway is overloaded, retry later', 503)
const UnauthenticatedError = createError<[string]>('UNAUTHENTICATED', '%s', 401)

/** 401 with the RFC 6750 challenge; `invalid` adds error="invalid_token" for a token that was sent but refused. */
export function unauthenticated (message: string, invalid: boolean): AppError {
  const err = new UnauthenticatedError(message) as AppError
  err.headers = { 'www-authenticate': invalid ? `Bearer realm="wxmp", error="invalid_token", error_description="${message}"` : 'Bearer realm="wxmp"' }
  return err
}

export function rateLimited (retryAfterS: number, headers: Record<string, string>): AppError {
  const err = new RateLimitedError(retryAfterS) as AppError
  err.headers = { ...headers, 'retry-after': String(retryAfterS) }
  return err
}

export function overloaded (retryAfterS: number): AppError {
  const err = new OverloadedError() as AppError
  err.headers = { 'retry-after': String(retryAfterS) }
  return err
}
