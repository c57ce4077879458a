import createError from '@fastify/error'

/** An error a client may see: a stable code, an HTTP status, and a message safe to show. */
export interface AppError extends Error {
  code: string
  statusCode: number
  /** Extra headers for the HTTP response, such as Retry-After. */
  headers?: Record<string, string>
  /** Extra fields for the envelope, never secrets. */
  details?: unknown
}

export function isAppError (err: unknown): err is AppError {
  return err instanceof Error && typeof (err as AppError).code === 'string' && typeof (err as AppError).statusCode === 'number'
}

/** The shared catalogue. Each package adds its own codes with createError. */
export const Errors = {
  BadRequest: createError<[string]>('BAD_REQUEST', '%s', 400),
  ValidationFailed: createError<[string]>('VALIDATION_FAILED', '%s', 400),
  Unauthenticated: createError<[string?]>('UNAUTHENTICATED', '%s', 401),
  Forbidden: createError('FORBIDDEN', 'Not allowed', 403),
  NotFound: createError<[string]>('NOT_FOUND', '%s', 404),
  Conflict: createError<[string]>('CONFLICT', '%s', 409),
  PayloadTooLarge: createError('PAYLOAD_TOO_LARGE', 'Request body is too large', 413),
  UnsupportedMediaType: createError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json', 415),
  Internal: createError('INTERNAL', 'Internal error', 500),
  BadGateway: createError<[string]>('BAD_GATEWAY', '%s', 502),
  ServiceUnavailable: createError<[string]>('SERVICE_UNAVAILABLE', '%s is unavailable', 503),
  UpstreamTimeout: createError<[string]>('UPSTREAM_TIMEOUT', '%s did not answer in time', 504)
}

export { createError }

/** An error reported by another service over NATS, rebuilt with its original code and status. */
export class RemoteError extends Error implements AppError {
  readonly code: string
  readonly statusCode: number
  readonly details?: unknown
  headers?: Record<string, string>
  constructor (code: string, message: string, statusCode: number, details?: unknown, headers?: Record<string, string>) {
    super(message)
    this.name = 'RemoteError'
    this.code = code
    this.statusCode = statusCode
    if (details !== undefined) this.details = details
    if (headers !== undefined) this.headers = headers
  }
}

export interface ErrorBody { code: string, message: string, traceId?: string, details?: unknown }

/**
 * Postgres refuses text it cannot store: a NUL character (22021 character_not_in_repertoire) or a \u0000 escape in
 * jsonb (22P05 untranslatable_character). Both come from what a client sent, so they are its error, not the server's.
 */
const UNSTORABLE_TEXT = new Set(['22021', '22P05'])

function isUnstorableText (err: unknown): boolean {
  return err instanceof Error && typeof (err as { severity?: unknown }).severity === 'string' && UNSTORABLE_TEXT.has((err as { code?: string }).code ?? '')
}

// Postgres connection exceptions (class 08), shutdowns and "cannot connect now" (57P01-03), too many clients (53300).
const PG_OUTAGE = /^(08...|57P0[123]|53300)$/
const NET_OUTAGE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH'])
const POOL_OUTAGE = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is closed)/

/**
 * A backing store (Postgres, Redis) that is down or restarting: the request may well succeed in a moment, so the
 * client gets 503 with Retry-After rather than a 500 that reads like a bug.
 */
export function isDependencyOutage (err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const e = err as Error & { code?: unknown, severity?: unknown, syscall?: unknown }
  if (typeof e.severity === 'string' && typeof e.code === 'string' && PG_OUTAGE.test(e.code)) return true
  if (typeof e.syscall === 'string' && typeof e.code === 'string' && NET_OUTAGE.has(e.code)) return true
  return POOL_OUTAGE.test(e.message)
}

/**
 * What a client sees for any error: the catalogue code and message for 4xx and for the upstream
 * statuses (502-504), and nothing internal for other 5xx.
 */
export function publicError (err: unknown): { statusCode: number, body: ErrorBody, headers: Record<string, string> } {
  if (isDependencyOutage(err)) {
    return { statusCode: 503, body: { code: 'DEPENDENCY_UNAVAILABLE', message: 'A backing service is unavailable; retry shortly' }, headers: { 'retry-after': '1' } }
  }
  if (isUnstorableText(err)) {
    return { statusCode: 400, body: { code: 'VALIDATION_FAILED', message: 'The text contains a character that cannot be stored, such as NUL' }, headers: {} }
  }
  if (isAppError(err) && err.statusCode >= 400 && err.statusCode < 600) {
    const exposed = err.statusCode < 500 || err.statusCode === 502 || err.statusCode === 503 || err.statusCode === 504
    if (exposed && /^[A-Z][A-Z0-9_]{2,63}$/.test(err.code)) {
      const body: ErrorBody = { code: err.code, message: err.message }
      if (err.details !== undefined) body.details = err.details
      return { statusCode: err.statusCode, body, headers: err.headers ?? {} }
    }
    if (err.statusCode < 500) {
      return { statusCode: err.statusCode, body: { code: 'BAD_REQUEST', message: 'Bad request' }, headers: {} }
    }
  }
  return { statusCode: 500, body: { code: 'INTERNAL', message: 'Internal error' }, headers: {} }
}
