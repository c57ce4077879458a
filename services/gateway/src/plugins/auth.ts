import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import fastifyJwt, { type TokenOrHeader } from '@fastify/jwt'
import { ACCESS_TOKEN, ROLE_RANK, type AccessTokenClaims } from '@wxmp/contracts'
import { Errors, annotate } from '@wxmp/core'
import type { Config } from '../config.js'
import { GatewayErrors, unauthenticated } from '../errors.js'
import { Keyring, NoKeysError } from '../auth/keyring.js'
import { Revocations } from '../auth/revocations.js'
import { VerifiedTokens, type VerifiedIdentity } from '../auth/verified-tokens.js'
import type { AuthMode } from '../edge-routes.js'

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

export interface EdgeAuth {
  keyring: Keyring
  revocations: Revocations
  /** Tokens verified before, so a client's next request skips decoding and the signature check. */
  verified: VerifiedTokens
  /** The onRequest hook enforcing a route's auth mode. */
  hook: (mode: Exclude<AuthMode, 'public'>) => Hook
}

declare module 'fastify' {
  interface FastifyInstance {
    edgeAuth: EdgeAuth
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    user: AccessTokenClaims
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const ROLES = new Set<string>(Object.keys(ROLE_RANK))
const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/

/** Why a token was refused, in words safe to show; the detail stays in the debug log. */
function reasonOf (err: { code?: string }): string {
  switch (err.code) {
    case 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED': return 'Access token expired'
    case 'FST_JWT_AUTHORIZATION_TOKEN_UNTRUSTED': return 'Session revoked'
    default: return 'Access token invalid'
  }
}

/**
 * Access-token verification at the edge with the auth service's public keys alone: ES256 only,
 * issuer and audience pinned, the key picked by `kid`, the session checked against the in-memory
 * revocation set. The verified user and session go on `request.trace`, which is the only source
 * of the identity headers sent over NATS, so nothing a client sends can claim an identity.
 */
export const auth = fp(async function auth (app: FastifyInstance, opts: { config: Config }) {
  const { config } = opts
  const log = app.log.child({ component: 'auth' })
  const keyring = new Keyring({
    client: app.natsClient,
    log,
    refreshMs: config.JWKS_REFRESH_MS,
    retryMs: config.JWKS_RETRY_MS,
    minRefetchMs: config.JWKS_MIN_REFETCH_MS,
    timeoutMs: Math.min(config.NATS_REQUEST_TIMEOUT_MS, 2000)
  })
  const revocations = new Revocations({
    nc: app.nats,
    prefix: config.NATS_SUBJECT_PREFIX,
    log,
    retryMs: config.JWKS_RETRY_MS,
    replicas: config.NATS_JS_REPLICAS,
    checkMs: config.REVOCATION_CHECK_MS,
    staleMs: config.REVOCATION_STALE_MS
  })
  const staleRetryAfter = String(Math.max(1, Math.ceil(config.REVOCATION_CHECK_MS / 1000)))
  const clockToleranceMs = config.JWT_CLOCK_TOLERANCE_S * 1000
  const verified = new VerifiedTokens({
    max: 20000,
    ttlMs: 10 * 60 * 1000,
    clockToleranceMs,
    maxAgeMs: (ACCESS_TOKEN.ttlSeconds + config.JWT_CLOCK_TOLERANCE_S) * 1000,
    published: (kid) => keyring.published(kid)
  })
  // The key each request's token was verified with, so the verified identity is remembered under that key.
  const keyUsed = new WeakMap<FastifyRequest, { kid: string, pem: string }>()

  await app.register(fastifyJwt, {
    secret: {
      // decode.complete: the fetcher gets the whole decoded token, whose header names the key.
      public: async (request: FastifyRequest, token: TokenOrHeader) => {
        const kid = 'header' in token ? token.header.kid : token.kid
        const pem = await keyring.keyFor(kid)
        if (typeof kid === 'string') keyUsed.set(request, { kid, pem })
        return pem
      }
    },
    decode: { complete: true },
    verify: {
      algorithms: [ACCESS_TOKEN.alg],
      allowedIss: ACCESS_TOKEN.issuer,
      allowedAud: ACCESS_TOKEN.audience,
      requiredClaims: ['sub', 'sid', 'exp', 'iat', 'jti'],
      clockTolerance: clockToleranceMs,
      // Seconds (the plugin converts): no token outlives the contract's lifetime, whatever its exp says.
      maxAge: ACCESS_TOKEN.ttlSeconds + config.JWT_CLOCK_TOLERANCE_S,
      // A client reuses one token for its whole life; caching the verified payload saves an ECDSA verify per request
      // (and `verified` below saves the decode and hashing of a cache hit).
      cache: 20000
    },
    // Runs on cached verifications too, so a revocation applies to a token verified before it.
    trusted: (_request, claims) => typeof claims.sid === 'string' && !revocations.isRevoked(claims.sid)
  })

  app.addHook('onReady', async () => {
    keyring.start()
    revocations.start()
  })
  // Before the NATS connection drains (onClose hooks run in reverse order of registration).
  app.addHook('onClose', async () => {
    keyring.stop()
    await revocations.stop()
  })
  // Ready means an authenticated request can be served: keys to verify it and a live revocation watch to judge it.
  app.readiness?.add('signing-keys', () => keyring.ready)
  app.readiness?.add('revocations', () => revocations.live)

  /** Identifies the caller, or refuses: the session's revocation and the view's health are judged on every request. */
  const admit = (request: FastifyRequest, id: VerifiedIdentity): void => {
    if (revocations.isRevoked(id.sessionId)) {
      request.log.debug({ reason: 'session revoked' }, 'access token refused')
      throw unauthenticated('Session revoked', true)
    }
    if (!revocations.ready) throw new Errors.ServiceUnavailable('auth')
    // A view that may lack recent logouts refuses to vouch for any session rather than accept a revoked one.
    if (revocations.stale) throw annotate(new GatewayErrors.SessionCheckUnavailable(), { headers: { 'retry-after': staleRetryAfter } })
    request.trace.userId = id.userId
    request.trace.sessionId = id.sessionId
    request.trace.role = id.role
    if (id.authTime !== undefined) request.trace.authTime = id.authTime
    if (id.amr !== undefined) request.trace.amr = [...id.amr]
  }

  const verify = async (request: FastifyRequest, header: string): Promise<void> => {
    if (BEARER.exec(header) === null) throw unauthenticated('Authorization must be a bearer token', true)
    let claims: AccessTokenClaims
    try {
      claims = await request.jwtVerify<AccessTokenClaims>()
    } catch (err) {
      if (err instanceof NoKeysError || (err as { cause?: unknown }).cause instanceof NoKeysError) {
        throw new Errors.ServiceUnavailable('auth')
      }
      request.log.debug({ reason: (err as Error).message }, 'access token refused')
      throw unauthenticated(reasonOf(err as { code?: string }), true)
    }
    if (!UUID.test(claims.sub) || !UUID.test(claims.sid)) throw unauthenticated('Access token invalid', true)
    if (claims.role !== undefined && !ROLES.has(claims.role)) throw unauthenticated('Access token invalid', true)
    const id: VerifiedIdentity = { userId: claims.sub, sessionId: claims.sid, role: claims.role ?? 'buyer' }
    if (Number.isSafeInteger(claims.auth_time)) id.authTime = claims.auth_time as number
    if (Array.isArray(claims.amr)) id.amr = claims.amr.filter((m) => typeof m === 'string')
    const key = keyUsed.get(request)
    if (key !== undefined) verified.set(header, claims, key.kid, key.pem, id)
    admit(request, id)
  }

  const hook = (mode: Exclude<AuthMode, 'public'>): Hook => async function authenticate (request) {
    const header = request.headers.authorization
    if (header === undefined || header === '') {
      if (mode === 'optional') return
      throw unauthenticated('Missing bearer token', false)
    }
    // A token verified before settles here without a pending promise, so the per-user limit that follows goes to
    // Redis in the same pipeline as the per-IP one.
    const known = verified.get(header)
    if (known !== undefined) { admit(request, known); return }
    await verify(request, header)
  }

  app.decorate('edgeAuth', { keyring, revocations, verified, hook })
}, { name: 'wxmp-gateway-auth', fastify: '5.x', dependencies: ['wxmp-nats', 'wxmp-request-context'] })
