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

/** Claims of an access token: `sub` is the user id, `sid` the session id. */
export const AccessTokenClaims = Type.Object({
  iss: Type.Literal(ACCESS_TOKEN.issuer),
  aud: Type.Literal(ACCESS_TOKEN.audience),
  sub: Type.String({ format: 'uuid' }),
  sid: Type.String({ format: 'uuid' }),
  jti: Type.String(),
  iat: Type.Integer(),
  exp: Type.Integer()
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
