import type { KV } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import { openRevocationBucket } from './revocation-bucket.js'

/**
 * Creates the revocation bucket, or opens it with the same options: auth's job, the only identity the permission
 * matrix lets create it (stand-ins for auth in tests and benchmarks call it too). The gateway only opens it.
 */
export async function createRevocationBucket (nc: NatsConnection, prefix: string, replicas = 1): Promise<KV> {
  return await openRevocationBucket(nc, prefix, { replicas, writer: true })
}
