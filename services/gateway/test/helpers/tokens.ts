import { connect, type NatsConnection } from '@nats-io/transport-node'
import { createRevocationBucket } from '@wxmp/nats'
import type { Teardown, TestKey } from '@wxmp/testing'

export { accessToken, identity, testKey, type Identity, type TestKey } from '@wxmp/testing'

export interface JwksResponder {
  nc: NatsConnection
  keys: TestKey[]
  /** How many times the gateway asked. */
  fetches: number
}

/**
 * Serves `auth.jwks` on the prefix from a mutable key list, the way the auth service will, and creates the
 * revocation bucket as auth does (the gateway only opens it). It stands in for auth beside the edge tests' gateway,
 * which calls the `test.*` fixture subjects outside the permission matrix and so runs on the shared server without
 * credentials (helpers/edge.ts); tests of the gateway under the matrix use `connectAs(t, 'auth', prefix)` instead.
 */
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
  await createRevocationBucket(nc, prefix)
  t.teardown(async () => { await nc.close() })
  return r
}
