import { Kvm, type KV } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import { REVOCATION_BUCKET, prefixedName } from '@wxmp/contracts'

/**
 * Creates the revocation bucket, or opens it with the same options: auth's job, the only identity the permission
 * matrix lets create it (stand-ins for auth in tests and benchmarks call it too). The gateway only opens it.
 */
export async function createRevocationBucket (nc: NatsConnection, prefix: string): Promise<KV> {
  return await new Kvm(nc).create(prefixedName(prefix, REVOCATION_BUCKET.name), { ttl: REVOCATION_BUCKET.ttlMs, history: 1 })
}
