import type { Pool } from 'pg'
import { generateSecret, generateURI, verify } from 'otplib'
import { AuthErrors } from '../errors.js'
import type { DataBox } from './data-box.js'

const context = (userId: string): string => `totp:${userId}`

/** RFC 6238 second factor: 30-second steps, ±1 step accepted, and a code never accepted twice. */
export class Totp {
  constructor (private readonly pool: Pool, private readonly box: DataBox, private readonly issuer = 'wxmp') {}

  /** A new secret, pending until a first code verifies it; re-enrolling replaces a pending secret only. */
  async enroll (userId: string, label: string): Promise<{ secret: string, otpauthUrl: string }> {
    const secret = generateSecret()
    const { rowCount } = await this.pool.query(
      `INSERT INTO totp_factors (user_id, secret_sealed) VALUES ($1, $2)
       ON CONFLICT (user_id) DO UPDATE SET secret_sealed = EXCLUDED.secret_sealed, last_used_step = NULL, created_at = now()
       WHERE totp_factors.enabled_at IS NULL`,
      [userId, this.box.seal(secret, context(userId))]
    )
    if (rowCount === 0) throw new AuthErrors.MfaAlreadyEnabled()
    return { secret, otpauthUrl: generateURI({ issuer: this.issuer, label, secret }) }
  }

  async isEnabled (userId: string): Promise<boolean> {
    const { rows } = await this.pool.query('SELECT 1 FROM totp_factors WHERE user_id = $1 AND enabled_at IS NOT NULL', [userId])
    return rows.length > 0
  }

  /**
   * Checks a code and consumes its time step; the first valid code also enables the factor.
   * Returns false for a wrong, stale or replayed code.
   */
  async check (userId: string, code: string): Promise<boolean> {
    const { rows } = await this.pool.query<{ secret_sealed: string, last_used_step: string | null }>(
      'SELECT secret_sealed, last_used_step FROM totp_factors WHERE user_id = $1', [userId])
    const row = rows[0]
    if (row === undefined) throw new AuthErrors.MfaNotEnrolled()
    const secret = this.box.open(row.secret_sealed, context(userId))
    const last = row.last_used_step === null ? undefined : Number(row.last_used_step)
    const result = await verify({ secret, token: code, epochTolerance: 30, ...(last === undefined ? {} : { afterTimeStep: last }) })
    if (!result.valid) return false
    // TOTP results carry the RFC 6238 time step they matched (otplib's union type also covers HOTP).
    const step = (result as { timeStep: number }).timeStep
    // The guarded update makes two concurrent uses of one code accept exactly one.
    const { rowCount } = await this.pool.query(
      `UPDATE totp_factors SET last_used_step = $2, enabled_at = COALESCE(enabled_at, now())
        WHERE user_id = $1 AND (last_used_step IS NULL OR last_used_step < $2)`,
      [userId, step]
    )
    return rowCount === 1
  }
}
