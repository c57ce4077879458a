import { createPrivateKey, createPublicKey, randomUUID, sign, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { exportJWK } from 'jose'
import { ACCESS_TOKEN, type AuthMethod, type JwksResponse, type Role } from '@wxmp/contracts'

/** What an access token says about its session besides who: the role and the last authentication (step-up). */
export interface SessionClaims {
  role: Role
  authTime: Date
  amr: AuthMethod[]
}

interface Key { kid: string, privateKey: KeyObject, publicKey: KeyObject }

const base64url = (json: unknown): string => Buffer.from(JSON.stringify(json), 'utf8').toString('base64url')

/** The ES256 keys auth signs access tokens with; all of them are published so rotation needs no downtime. */
export class SigningKeys {
  /** The active key's encoded JWS header: the same for every token, so it is encoded once. */
  private readonly header: string

  private constructor (private readonly keys: Key[], private readonly active: Key, private readonly published: JwksResponse) {
    this.header = base64url({ alg: ACCESS_TOKEN.alg, kid: active.kid, typ: 'JWT' })
  }

  /** `spec` is `kid=/path.pem[,kid2=/path2.pem]`; `activeKid` names the key that signs. */
  static async fromFiles (spec: string, activeKid: string): Promise<SigningKeys> {
    const keys = spec.split(',').map((entry) => {
      const [kid, file] = entry.split('=') as [string, string]
      const privateKey = createPrivateKey(readFileSync(file.trim()))
      if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
        throw new Error(`signing key ${kid} must be an EC P-256 key for ES256`)
      }
      return { kid: kid.trim(), privateKey, publicKey: createPublicKey(privateKey) }
    })
    const active = keys.find((k) => k.kid === activeKid)
    if (active === undefined) throw new Error(`AUTH_JWT_ACTIVE_KID ${activeKid} is not among AUTH_JWT_PRIVATE_KEY_FILES`)
    const jwks: JwksResponse = { keys: [] }
    for (const k of keys) {
      const jwk = await exportJWK(k.publicKey)
      jwks.keys.push({ kty: 'EC', crv: 'P-256', x: jwk.x as string, y: jwk.y as string, kid: k.kid, alg: 'ES256', use: 'sig' })
    }
    return new SigningKeys(keys, active, jwks)
  }

  async sign (userId: string, sessionId: string, claims: SessionClaims): Promise<{ accessToken: string, expiresIn: number }> {
    // A buyer's token leaves `role` out: it is the default, and the most common token stays the smallest.
    const payload: Record<string, unknown> = { sid: sessionId, auth_time: Math.floor(claims.authTime.getTime() / 1000), amr: claims.amr }
    if (claims.role !== 'buyer') payload.role = claims.role
    const iat = Math.floor(Date.now() / 1000)
    Object.assign(payload, { iss: ACCESS_TOKEN.issuer, aud: ACCESS_TOKEN.audience, sub: userId, jti: randomUUID(), iat, exp: iat + ACCESS_TOKEN.ttlSeconds })
    const signingInput = `${this.header}.${base64url(payload)}`
    // ES256 over the KeyObject parsed at boot, synchronously: one signature costs less than a WebCrypto job's
    // round trip through the thread pool. JWS wants the raw r||s form (RFC 7518 3.4), not DER.
    const signature = sign('sha256', Buffer.from(signingInput, 'utf8'), { key: this.active.privateKey, dsaEncoding: 'ieee-p1363' })
    const accessToken = `${signingInput}.${signature.toString('base64url')}`
    return { accessToken, expiresIn: ACCESS_TOKEN.ttlSeconds }
  }

  jwks (): JwksResponse {
    return this.published
  }
}
