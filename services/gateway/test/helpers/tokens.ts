import { generateKeyPair, exportJWK, SignJWT, type CryptoKey, type JWK } from 'jose'
import { randomUUID } from 'node:crypto'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { ACCESS_TOKEN } from '@wxmp/contracts'
import type { Teardown } from '@wxmp/testing'

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
  return await new SignJWT(payload as never)
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT', ...header } as never)
    .sign(key.privateKey)
}

export interface JwksResponder {
  nc: NatsConnection
  keys: TestKey[]
  /** How many times the gateway asked. */
  fetches: number
}

/** Serves `auth.jwks` on the prefix from a mutable key list, the way the auth service will. */
export async function jwksResponder (t: Teardown, prefix: string, keys: TestKey[], natsUrl = 'nats://127.0.0.1:4222'): Promise<JwksResponder> {
  const nc = await connect({ servers: natsUrl })
  const r: JwksResponder = { nc, keys, fetches: 0 }
  nc.subscribe(`${prefix}auth.jwks`, {
    callback: (_err, msg) => {
      r.fetches++
      msg.respond(JSON.stringify({ keys: r.keys.map((k) => k.publicJwk) }))
    }
  })
  await nc.flush()
  t.teardown(async () => { await nc.close() })
  return r
}
