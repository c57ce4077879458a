import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { Kvm, type KV } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import { REVOCATION_BUCKET, prefixedName } from '@wxmp/contracts'
import type { Log } from '@wxmp/core'
import { raiseReplicas } from './replicas.js'
import { whileJetStreamSettles } from './settling.js'

export interface RevocationBucketOptions {
  /** Copies of the bucket on a cluster (NATS_JS_REPLICAS); a bucket with fewer is raised to it. */
  replicas: number
  /** How long a put or get may wait for JetStream before failing (a logout answers before the caller gives up). */
  timeoutMs?: number
  /** The bucket's writer (auth) raises its replicas; readers only open it. */
  writer?: boolean
  log?: Log
}

export function revocationBucketName (prefix: string): string {
  return prefixedName(prefix, REVOCATION_BUCKET.name)
}

/**
 * Opens the revoked-sessions bucket, creating it if missing, with the same options in auth (its writer) and the
 * gateway (its reader), so whichever starts first creates it and the other opens it. While the cluster is still
 * forming (fewer peers than replicas) it keeps trying, for up to a minute.
 */
export async function openRevocationBucket (nc: NatsConnection, prefix: string, opts: RevocationBucketOptions): Promise<KV> {
  const js = jetstream(nc, opts.timeoutMs === undefined ? {} : { timeout: opts.timeoutMs })
  const name = revocationBucketName(prefix)
  return await whileJetStreamSettles(`bucket ${name}`, async () => {
    const kv = await new Kvm(js).create(name, { ttl: REVOCATION_BUCKET.ttlMs, history: 1, replicas: opts.replicas })
    if (opts.writer === true) await raiseReplicas(await jetstreamManager(nc), `KV_${name}`, opts.replicas, opts.log)
    return kv
  }, { log: opts.log })
}
