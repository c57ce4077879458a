import { createPrivateKey, createPublicKey, randomUUID, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { exportJWK, SignJWT } from 'jose'
import { ACCESS_TOKEN, type AuthMethod, type JwksResponse, type Role } from '@wxmp/contracts'

/** What an access token says about its session besides who: the role and the last authentication (step-up). */
export interface SessionClaims {
  role: Role
  authTime: Date
  amr: AuthMethod[]
}

interface Key { kid: string, privateKey: KeyObject, publicKey: KeyObject }

/** The ES256 keys auth signs access tokens with; all of them are published so rotation needs no downtime. */
export class SigningKeys {
  private constructor (private readonly keys: Key[], private readonly active: Key, private readonly published: JwksResponse) {}

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
    const accessToken = await new SignJWT(payload)
      .setProtectedHeader({ alg: ACCESS_TOKEN.alg, kid: this.active.kid, typ: 'JWT' })
      .setIssuer(ACCESS_TOKEN.issuer)
      .setAudience(ACCESS_TOKEN.audience)
      .setSubject(userId)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${ACCESS_TOKEN.ttlSeconds}s`)
      .sign(this.active.privateKey)
    return { accessToken, expiresIn: ACCESS_TOKEN.ttlSeconds }
  }

  jwks (): JwksResponse {
    return this.published
  }
}
