import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import fastifyJwt, { type TokenOrHeader } from '@fastify/jwt'
import { ACCESS_TOKEN, ROLE_RANK, type AccessTokenClaims } from '@wxmp/contracts'
import { Errors, annotate } from '@wxmp/core'
import type { Config } from '../config.js'
import { GatewayErrors, unauthenticated } from '../errors.js'
import { Keyring, NoKeysError } from '../auth/keyring.js'
import { Revocations } from '../auth/revocations.js'
import type { AuthMode } from '../edge-routes.js'

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

export interface EdgeAuth {
  keyring: Keyring
  revocations: Revocations
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

  await app.register(fastifyJwt, {
    secret: {
      // decode.complete: the fetcher gets the whole decoded token, whose header names the key.
      public: async (_request: FastifyRequest, token: TokenOrHeader) => await keyring.keyFor('header' in token ? token.header.kid : token.kid)
    },
    decode: { complete: true },
    verify: {
      algorithms: [ACCESS_TOKEN.alg],
      allowedIss: ACCESS_TOKEN.issuer,
      allowedAud: ACCESS_TOKEN.audience,
      requiredClaims: ['sub', 'sid', 'exp', 'iat', 'jti'],
      clockTolerance: config.JWT_CLOCK_TOLERANCE_S * 1000,
      // Seconds (the plugin converts): no token outlives the contract's lifetime, whatever its exp says.
      maxAge: ACCESS_TOKEN.ttlSeconds + config.JWT_CLOCK_TOLERANCE_S,
      // A client reuses one token for its whole life; caching the verified payload saves an ECDSA verify per request.
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

  const hook = (mode: Exclude<AuthMode, 'public'>): Hook => async function authenticate (request) {
    const header = request.headers.authorization
    if (header === undefined || header === '') {
      if (mode === 'optional') return
      throw unauthenticated('Missing bearer token', false)
    }
    const m = BEARER.exec(header)
    if (m === null) throw unauthenticated('Authorization must be a bearer token', true)
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
    if (!revocations.ready) throw new Errors.ServiceUnavailable('auth')
    // A view that may lack recent logouts refuses to vouch for any session rather than accept a revoked one.
    if (revocations.stale) throw annotate(new GatewayErrors.SessionCheckUnavailable(), { headers: { 'retry-after': staleRetryAfter } })
    request.trace.userId = claims.sub
    request.trace.sessionId = claims.sid
    request.trace.role = claims.role ?? 'buyer'
    if (Number.isSafeInteger(claims.auth_time)) request.trace.authTime = claims.auth_time as number
    if (Array.isArray(claims.amr)) request.trace.amr = claims.amr.filter((m) => typeof m === 'string')
  }

  app.decorate('edgeAuth', { keyring, revocations, hook })
}, { name: 'wxmp-gateway-auth', fastify: '5.x', dependencies: ['wxmp-nats', 'wxmp-request-context'] })
