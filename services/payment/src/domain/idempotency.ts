import type { Pool, PoolClient } from 'pg'
import { RemoteError, publicError } from '@wxmp/core'
import { PaymentErrors } from '../errors.js'

/** What claiming a key found. */
export type Claim =
  /** First use: the caller creates its order or refund in the same transaction and links it. */
  | { kind: 'new' }
  /** An earlier request made the order or refund but has no final answer (its WeChat call failed, or it crashed). */
  | { kind: 'resume', orderId: string | null, refundId: string | null }
  /** Finished before: this is its stored answer. */
  | { kind: 'done', status: number, body: unknown }

export interface KeyRef { userId: string, key: string }

interface KeyRow {
  request_hash: string
  state: 'open' | 'done'
  held: boolean
  order_id: string | null
  refund_id: string | null
  response_status: number | null
  response_body: unknown
}

/**
 * Idempotency-Key records (IETF draft-ietf-httpapi-idempotency-key-header) in Postgres, in the same transaction as
 * what the request creates, so "this key made that order" can never be half written. Keys are per user.
 *
 * - first use: claimed with a lease, and the order or refund is written in the same transaction;
 * - same key, same request, finished: the stored first answer, status and body;
 * - same key, same request, lease held: 409, the first one is still running;
 * - same key, same request, lease free: this request carries on the earlier one (same order, same out_trade_no);
 * - same key, different request: 422.
 */
export class IdempotencyKeys {
  constructor (private readonly leaseSeconds: number) {}

  async claim (client: PoolClient, ref: KeyRef, requestHash: string): Promise<Claim> {
    const inserted = await client.query(
      `INSERT INTO idempotency_keys (user_id, key, request_hash, state, locked_until)
       VALUES ($1, $2, $3, 'open', now() + make_interval(secs => $4))
       ON CONFLICT (user_id, key) DO NOTHING`,
      [ref.userId, ref.key, requestHash, this.leaseSeconds]
    )
    if (inserted.rowCount === 1) return { kind: 'new' }
    // A concurrent first use waited on the insert above until it committed; the row is visible now.
    const { rows } = await client.query<KeyRow>(
      `SELECT request_hash, state, locked_until IS NOT NULL AND locked_until > now() AS held, order_id, refund_id, response_status, response_body
         FROM idempotency_keys WHERE user_id = $1 AND key = $2 FOR UPDATE`,
      [ref.userId, ref.key]
    )
    const row = rows[0]
    if (row === undefined) throw new PaymentErrors.IdempotencyKeyInUse()
    if (row.request_hash !== requestHash) throw new PaymentErrors.IdempotencyKeyReused()
    if (row.state === 'done') return { kind: 'done', status: row.response_status ?? 200, body: row.response_body }
    if (row.held) throw new PaymentErrors.IdempotencyKeyInUse()
    await client.query(
      'UPDATE idempotency_keys SET locked_until = now() + make_interval(secs => $3), updated_at = now() WHERE user_id = $1 AND key = $2',
      [ref.userId, ref.key, this.leaseSeconds]
    )
    return { kind: 'resume', orderId: row.order_id, refundId: row.refund_id }
  }

  async link (client: PoolClient, ref: KeyRef, target: { orderId?: string, refundId?: string }): Promise<void> {
    await client.query(
      'UPDATE idempotency_keys SET order_id = COALESCE($3, order_id), refund_id = COALESCE($4, refund_id), updated_at = now() WHERE user_id = $1 AND key = $2',
      [ref.userId, ref.key, target.orderId ?? null, target.refundId ?? null]
    )
  }

  /** Stores the final answer; every later request with the key gets exactly this. */
  async complete (db: Pool | PoolClient, ref: KeyRef, status: number, body: unknown): Promise<void> {
    await db.query(
      "UPDATE idempotency_keys SET state = 'done', locked_until = NULL, response_status = $3, response_body = $4, updated_at = now() WHERE user_id = $1 AND key = $2",
      [ref.userId, ref.key, status, JSON.stringify(body)]
    )
  }

  /** Stores an error as the final answer (a refusal that no retry can change). */
  async completeWithError (db: Pool | PoolClient, ref: KeyRef, err: unknown): Promise<void> {
    const { statusCode, body } = publicError(err)
    await this.complete(db, ref, statusCode, { error: body })
  }

  /** Gives the key up without an answer, so a retry with it runs again (after a failed WeChat call). */
  async release (db: Pool | PoolClient, ref: KeyRef): Promise<void> {
    await db.query("UPDATE idempotency_keys SET locked_until = NULL, updated_at = now() WHERE user_id = $1 AND key = $2 AND state = 'open'", [ref.userId, ref.key])
  }

  /** Keys older than the retention are forgotten; returns how many. */
  async sweep (db: Pool | PoolClient, ttlHours: number): Promise<number> {
    const { rowCount } = await db.query('DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)', [ttlHours])
    return rowCount ?? 0
  }
}

/** A stored answer as what the caller gets: the body of a success, or the stored error thrown again. */
export function replay<T> (claim: { status: number, body: unknown }): T {
  if (claim.status >= 400) {
    const e = (claim.body as { error?: { code?: string, message?: string, details?: unknown } }).error ?? {}
    throw new RemoteError(e.code ?? 'INTERNAL', e.message ?? 'Internal error', claim.status, e.details)
  }
  return claim.body as T
}
