import { randomUUID } from 'node:crypto'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTHeaderParameters } from 'jose'
import { ACCESS_TOKEN } from '@wxmp/contracts'

/** A token signing key and its public JWK, as the auth service publishes it on `auth.jwks`. */
export interface TestKey {
  kid: string
  privateKey: CryptoKey
  publicJwk: JWK
}

/** A P-256 key pair as the auth service would publish it. */
export async function testKey (kid = `k-${randomUUID().slice(0, 8)}`): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const jwk = await exportJWK(publicKey)
  return { kid, privateKey, publicJwk: { ...jwk, kid, alg: 'ES256', use: 'sig' } }
}

/** Whom a token speaks for: the user (`sub`) and the session (`sid`). */
export interface Identity { sub: string, sid: string }

export function identity (): Identity {
  return { sub: randomUUID(), sid: randomUUID() }
}

/** An access token as auth issues it; `claims` and `header` override anything for the negative cases. */
export async function accessToken (key: TestKey, who: Identity = identity(), claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const payload = {
    iss: ACCESS_TOKEN.issuer,
    aud: ACCESS_TOKEN.audience,
    sub: who.sub,
    sid: who.sid,
    jti: randomUUID(),
    iat: now,
    exp: now + ACCESS_TOKEN.ttlSeconds,
    ...claims
  }
  const protectedHeader: JWTHeaderParameters = { alg: 'ES256', kid: key.kid, typ: 'JWT', ...header }
  return await new SignJWT(payload)
    .setProtectedHeader(protectedHeader)
    .sign(key.privateKey)
}
