import type { KV } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import type { RevokedSession } from '@wxmp/contracts'
import type { Log } from '@wxmp/core'
import { openRevocationBucket } from '@wxmp/nats'

export interface RevocationsOptions {
  /** Replicas of the bucket (NATS_JS_REPLICAS). */
  replicas: number
  /** How long one put may wait for JetStream; below the gateway's request timeout, so a logout answers 503, not 504. */
  timeoutMs: number
  log: Log
}

/**
 * Publishes revoked session ids to the KV bucket every gateway watches, so a logout refuses the
 * session's still-unexpired access tokens without the gateway asking anyone per request.
 */
export class Revocations {
  private constructor (private readonly kv: KV) {}

  static async open (nc: NatsConnection, prefix: string, opts: RevocationsOptions): Promise<Revocations> {
    return new Revocations(await openRevocationBucket(nc, prefix, { replicas: opts.replicas, timeoutMs: opts.timeoutMs, writer: true, log: opts.log }))
  }

  /** Writes one revocation; returns its KV revision, which the answering gateway applies before it replies. */
  async revoke (sessionId: string, userId: string, revokedAt: Date): Promise<number> {
    const value: RevokedSession = { userId, revokedAt: revokedAt.toISOString() }
    return await this.kv.put(sessionId, JSON.stringify(value))
  }
}
