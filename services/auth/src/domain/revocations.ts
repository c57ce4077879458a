import { Kvm, type KV } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import { REVOCATION_BUCKET, prefixedName, type RevokedSession } from '@wxmp/contracts'

/**
 * Publishes revoked session ids to the KV bucket every gateway watches, so a logout refuses the
 * session's still-unexpired access tokens without the gateway asking anyone per request.
 */
export class Revocations {
  private constructor (private readonly kv: KV) {}

  static async open (nc: NatsConnection, prefix: string): Promise<Revocations> {
    const kv = await new Kvm(nc).create(prefixedName(prefix, REVOCATION_BUCKET.name), { history: 1, ttl: REVOCATION_BUCKET.ttlMs })
    return new Revocations(kv)
  }

  async revoke (sessionId: string, userId: string, revokedAt: Date): Promise<void> {
    const value: RevokedSession = { userId, revokedAt: revokedAt.toISOString() }
    await this.kv.put(sessionId, JSON.stringify(value))
  }
}
