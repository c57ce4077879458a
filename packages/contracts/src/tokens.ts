import { Type, type Static } from '@sinclair/typebox'

/**
 * The access-token contract between auth (issuer) and the gateway (verifier).
 * ES256 JWTs with a `kid` header; the gateway verifies with the public keys alone.
 */
export const ACCESS_TOKEN = {
  alg: 'ES256',
  issuer: 'wxmp-auth',
  audience: 'wxmp-api',
  ttlSeconds: 15 * 60
} as const

/**
 * Who a caller is to the merchant: a `buyer` (every mini-program user), `staff` (operates orders and refunds) or an
 * `admin` (also manages staff). Each role includes the ones before it.
 */
export const Role = Type.Union([Type.Literal('buyer'), Type.Literal('staff'), Type.Literal('admin')])
export type Role = Static<typeof Role>
export const ROLE_RANK: Readonly<Record<Role, number>> = { buyer: 0, staff: 1, admin: 2 }

/** How the caller authenticated (RFC 8176 method names): a WeChat login, a password, a TOTP code. */
export const AuthMethod = Type.Union([Type.Literal('wechat'), Type.Literal('pwd'), Type.Literal('otp')])
export type AuthMethod = Static<typeof AuthMethod>

/**
 * Claims of an access token: `sub` is the user id, `sid` the session id, `role` the caller's role (absent: buyer),
 * `auth_time` when the user last authenticated with a credential (a refresh keeps it) and `amr` how, so the edge can
 * ask for a fresh authentication (step-up) before money or credential changes.
 */
export const AccessTokenClaims = Type.Object({
  iss: Type.Literal(ACCESS_TOKEN.issuer),
  aud: Type.Literal(ACCESS_TOKEN.audience),
  sub: Type.String({ format: 'uuid' }),
  sid: Type.String({ format: 'uuid' }),
  jti: Type.String(),
  iat: Type.Integer(),
  exp: Type.Integer(),
  role: Type.Optional(Role),
  auth_time: Type.Optional(Type.Integer()),
  amr: Type.Optional(Type.Array(AuthMethod, { maxItems: 4 }))
})
export type AccessTokenClaims = Static<typeof AccessTokenClaims>

/** `auth.jwks` replies with the public keys that may have signed a live token (RFC 7517 JWK Set). */
export const JwksResponse = Type.Object({
  keys: Type.Array(Type.Object({
    kty: Type.Literal('EC'),
    crv: Type.Literal('P-256'),
    x: Type.String(),
    y: Type.String(),
    kid: Type.String(),
    alg: Type.Literal('ES256'),
    use: Type.Literal('sig')
  }))
})
export type JwksResponse = Static<typeof JwksResponse>

/**
 * Revoked sessions: a JetStream KV bucket, key = session id, value = `{userId, revokedAt}`.
 * Entries outlive every access token of the session, then expire. Gateways watch it into memory.
 * The bucket name gets the deployment's NATS prefix with dots turned into underscores.
 */
export const REVOCATION_BUCKET = {
  name: 'revoked_sessions',
  ttlMs: (ACCESS_TOKEN.ttlSeconds + 5 * 60) * 1000
} as const

export const RevokedSession = Type.Object({
  userId: Type.String(),
  revokedAt: Type.String({ description: 'ISO 8601' })
})
export type RevokedSession = Static<typeof RevokedSession>

/** Bucket and stream names cannot contain dots; a test prefix `t1a2b.` becomes `t1a2b_`. */
export function prefixedName (prefix: string, name: string): string {
  return prefix.replace(/\./g, '_') + name
}
