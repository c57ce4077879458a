import fastifyCreateError, { type FastifyErrorConstructor } from '@fastify/error'

/** An error a client may see: a stable code, an HTTP status, and a message safe to show. */
export interface AppError extends Error {
  code: string
  statusCode: number
  /** Extra headers for the HTTP response, such as Retry-After; set them with `annotate`. */
  headers?: Record<string, string>
  /** Extra fields for the envelope, never secrets; set them with `annotate`. */
  details?: unknown
}

export function isAppError (err: unknown): err is AppError {
  return err instanceof Error && typeof (err as AppError).code === 'string' && typeof (err as AppError).statusCode === 'number'
}

/** What docs/errors.md says about a code, for the mini-program developers who code against it. */
export interface ErrorDoc {
  /** What happened, in the client's terms. */
  meaning: string
  /** What the client should do about it. */
  action: string
}

/** A catalogue entry: a @fastify/error constructor that also names its code, status and documentation. */
export type CatalogueError<Args extends unknown[] = [any?, any?, any?]> =
  FastifyErrorConstructor<{ code: string, statusCode: number }, Args> & { readonly code: string, readonly statusCode: number, readonly doc?: ErrorDoc }

/**
 * @fastify/error's createError, with the code, status and documentation readable on the constructor, so
 * docs/errors.md is generated from the catalogues instead of written beside them.
 */
export function createError<Args extends unknown[] = [any?, any?, any?]> (code: string, message: string, statusCode: number, doc?: ErrorDoc): CatalogueError<Args> {
  const ctor = fastifyCreateError<Args>(code, message, statusCode)
  return Object.defineProperties(ctor, {
    code: { value: code, enumerable: true },
    statusCode: { value: statusCode, enumerable: true },
    doc: { value: doc, enumerable: true }
  }) as CatalogueError<Args>
}

/**
 * The one way to add envelope details (never secrets) or response headers (Retry-After, WWW-Authenticate) to a
 * catalogue error: `throw annotate(new AuthErrors.Locked(), { headers: { 'retry-after': '60' } })`.
 */
export function annotate<E extends Error> (err: E, extra: { details?: unknown, headers?: Record<string, string> }): E & AppError {
  const e = err as E & AppError
  if (extra.details !== undefined) e.details = extra.details
  if (extra.headers !== undefined) e.headers = { ...e.headers, ...extra.headers }
  return e
}

/** The shared catalogue, for errors any service or the gateway may answer. Each package adds its own codes. */
export const Errors = {
  BadRequest: createError<[string]>('BAD_REQUEST', '%s', 400, {
    meaning: 'The request is malformed: a body that is not JSON, an empty JSON body, a bad header or URL',
    action: 'Fix the request; the message says what is wrong. Retrying it unchanged fails again'
  }),
  ValidationFailed: createError<[string]>('VALIDATION_FAILED', '%s', 400, {
    meaning: 'A field is missing, has the wrong type or format, or holds text that cannot be stored (such as NUL)',
    action: 'Fix the field the message names; retrying unchanged fails again'
  }),
  Unauthenticated: createError<[string?]>('UNAUTHENTICATED', '%s', 401, {
    meaning: 'No valid access token: missing, malformed, expired, or its session was revoked (WWW-Authenticate says which)',
    action: 'Refresh the token pair with POST /v1/auth/refresh, or sign in again (wx.login) if that fails'
  }),
  ReauthRequired: createError<[string]>('AUTH_REAUTH_REQUIRED', '%s', 401, {
    meaning: 'The action needs a recent sign-in (step-up): changing credentials, deleting the account, or a staff money action, and the token is older than the window or lacks the factor (TOTP for money actions)',
    action: 'Authenticate again with POST /v1/auth/reauth (a fresh wx.login code, or the password and TOTP code), then repeat the request with the new access token'
  }),
  Forbidden: createError('FORBIDDEN', 'Not allowed', 403, {
    meaning: 'The caller is signed in but lacks the role or ownership this needs',
    action: 'Do not retry; hide the action from this user'
  }),
  NotFound: createError<[string]>('NOT_FOUND', '%s', 404, {
    meaning: 'No such route, or no such resource for this user',
    action: 'Check the URL or id; do not retry'
  }),
  Conflict: createError<[string]>('CONFLICT', '%s', 409, {
    meaning: 'The request conflicts with the current state of the resource',
    action: 'Reload the resource and decide again'
  }),
  PayloadTooLarge: createError('PAYLOAD_TOO_LARGE', 'Request body is too large', 413, {
    meaning: 'The body is larger than this route accepts',
    action: 'Send less; do not retry unchanged'
  }),
  UnsupportedMediaType: createError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json', 415, {
    meaning: 'The body is not sent as application/json',
    action: 'Send JSON with content-type application/json (wx.request\'s default)'
  }),
  Internal: createError('INTERNAL', 'Internal error', 500, {
    meaning: 'A bug or an unexpected failure on the server; the details are in its logs under the traceId',
    action: 'Show a generic error; retry later at most once, and report the traceId'
  }),
  BadGateway: createError<[string]>('BAD_GATEWAY', '%s', 502, {
    meaning: 'A backend service answered with something unreadable',
    action: 'Retry later; report the traceId if it persists'
  }),
  ServiceUnavailable: createError<[string]>('SERVICE_UNAVAILABLE', '%s is unavailable', 503, {
    meaning: 'The backend service that handles this is not running or not reachable right now',
    action: 'Retry after a short wait (with backoff)'
  }),
  DependencyUnavailable: createError('DEPENDENCY_UNAVAILABLE', 'A backing service is unavailable; retry shortly', 503, {
    meaning: 'A database or cache behind the service is down or restarting; nothing was changed',
    action: 'Retry after the Retry-After seconds'
  }),
  UpstreamTimeout: createError<[string]>('UPSTREAM_TIMEOUT', '%s did not answer in time', 504, {
    meaning: 'A backend service did not answer in time; the request may or may not have taken effect',
    action: 'Retry; for payments repeat the same Idempotency-Key so a retry cannot pay twice'
  }),
  ProfileRunning: createError('PROFILE_RUNNING', 'A CPU profile is already being taken', 409, {
    meaning: 'Admin port only: another CPU profile is being taken by this process',
    action: 'Wait for it to finish, then ask again'
  }),
  GcNotExposed: createError('GC_NOT_EXPOSED', 'Start the process with --expose-gc', 501, {
    meaning: 'Admin port only: the process was started without --expose-gc, so it cannot be asked to collect',
    action: 'Restart the process with --expose-gc to use /debug/gc'
  })
}

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
  if (isDependencyOutage(err)) return render(annotate(new Errors.DependencyUnavailable(), { headers: { 'retry-after': '1' } }))
  if (isUnstorableText(err)) return render(new Errors.ValidationFailed('The text contains a character that cannot be stored, such as NUL'))
  if (isAppError(err) && err.statusCode >= 400 && err.statusCode < 600) {
    const exposed = err.statusCode < 500 || err.statusCode === 502 || err.statusCode === 503 || err.statusCode === 504
    if (exposed && /^[A-Z][A-Z0-9_]{2,63}$/.test(err.code)) return render(err)
    if (err.statusCode < 500) return { ...render(new Errors.BadRequest('Bad request')), statusCode: err.statusCode }
  }
  return render(new Errors.Internal())
}

/**
 * Detail fields that stay in the logs, never in a client's envelope: WeChat's own `errmsg` (its wording, not the
 * catalogue's) and `api`, the name of the internal or WeChat API that failed.
 */
const PRIVATE_DETAILS = new Set(['api', 'errmsg'])

function publicDetails (details: unknown): unknown {
  if (details === null || typeof details !== 'object' || Array.isArray(details)) return details
  const kept = Object.entries(details).filter(([k]) => !PRIVATE_DETAILS.has(k))
  return kept.length === 0 ? undefined : Object.fromEntries(kept)
}

function render (err: AppError): { statusCode: number, body: ErrorBody, headers: Record<string, string> } {
  const body: ErrorBody = { code: err.code, message: err.message }
  const details = publicDetails(err.details)
  if (details !== undefined) body.details = details
  return { statusCode: err.statusCode, body, headers: err.headers ?? {} }
}
