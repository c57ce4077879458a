import { createHash, randomBytes } from 'node:crypto'
import type { Pool } from 'pg'
import type { PoolClient } from 'pg'
import { annotate, withTransaction, type TraceContext } from '@wxmp/core'
import type { AppliedRevocation, AuthMethod, ClientInfo, LogoutReply, Role, SessionInfo, TokenPair } from '@wxmp/contracts'
import { AuthErrors } from '../errors.js'
import type { Audit, AuditFields } from './audit.js'
import type { Revocations } from './revocations.js'
import type { SigningKeys } from './signing-keys.js'

export interface SessionSettings {
  sessionTtlDays: number
  reuseGraceSeconds: number
}

const hashToken = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest()
const newRefreshToken = (): string => 'rt_' + randomBytes(32).toString('base64url')

interface TokenRow {
  id: string
  session_id: string
  used_at: Date | null
  expires_at: Date
  user_id: string
  revoked_at: Date | null
  session_expires_at: Date
  children_used: boolean
  disabled: boolean
  role: Role
  auth_time: Date
  amr: AuthMethod[]
}

/** How a session was opened: the login method, the role its tokens carry, and the factors the login used. */
export interface SessionStart {
  method: 'wechat' | 'password'
  role: Role
  amr: AuthMethod[]
  /** Where the sign-in came from, as the gateway saw it; shown back in the user's session list. */
  client?: ClientInfo
}

/** The audit event a revocation records with it, in the same transaction. */
export interface RevocationAudit {
  action: 'logged_out' | 'session_revoked' | 'role_changed' | 'user_disabled' | 'account_deleted'
  fields?: AuditFields
}

/** Runs inside a revocation's transaction with the sessions it revoked, e.g. to write an audit event or a flag. */
export type AlsoInTransaction = (client: PoolClient, revoked: number) => Promise<void>

/** Sessions in Postgres (durable: a Redis restart logs nobody out), refresh-token rotation, revocation. */
export class Sessions {
  constructor (
    private readonly pool: Pool,
    private readonly keys: SigningKeys,
    private readonly revocations: Revocations,
    private readonly settings: SessionSettings,
    private readonly audit: Audit
  ) {}

  /**
   * Starts a session and returns its first token pair; the login is audited (login_succeeded). A disabled user gets
   * 403 ACCOUNT_DISABLED and no session, checked in the statement that would open it.
   */
  async open (userId: string, start: SessionStart, trace?: TraceContext): Promise<TokenPair & { sessionId: string }> {
    const refreshToken = newRefreshToken()
    // One statement for the check, the session and its first token: logins are the hot path.
    const { rows } = await this.pool.query<{ session_id: string, auth_time: Date }>(
      `WITH s AS (
         INSERT INTO sessions (user_id, method, expires_at, role, amr, client_ip, user_agent)
         SELECT $1, $2, now() + make_interval(days => $3), $5, $6, $7, $8
          WHERE NOT EXISTS (SELECT 1 FROM disabled_users WHERE user_id = $1)
         RETURNING id, expires_at, auth_time
       )
       INSERT INTO refresh_tokens (session_id, token_hash, expires_at) SELECT id, $4, expires_at FROM s
       RETURNING session_id, (SELECT auth_time FROM s)`,
      [userId, start.method, this.settings.sessionTtlDays, hashToken(refreshToken), start.role, start.amr, start.client?.ip ?? null, start.client?.userAgent ?? null]
    )
    const row = rows[0]
    if (row === undefined) throw new AuthErrors.AccountDisabled()
    const sessionId = row.session_id
    await this.audit.record('login_succeeded', { userId, sessionId, method: start.method, role: start.role }, trace === undefined ? {} : { trace })
    const { accessToken, expiresIn } = await this.keys.sign(userId, sessionId, { role: start.role, authTime: row.auth_time, amr: start.amr })
    return { accessToken, refreshToken, tokenType: 'Bearer', expiresIn, sessionId }
  }

  /**
   * Step-up: records a fresh authentication on the caller's own live session and re-issues its access token with
   * `auth_time` now; the refresh token is unchanged, and later refreshes keep the new time.
   */
  async reauthenticate (userId: string, sessionId: string, amr: AuthMethod[], trace?: TraceContext): Promise<{ accessToken: string, expiresIn: number }> {
    return await withTransaction(this.pool, async (c) => {
      const { rows } = await c.query<{ role: Role, auth_time: Date }>(
        `UPDATE sessions SET auth_time = now(), amr = $3
          WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > now() RETURNING role, auth_time`,
        [sessionId, userId, amr])
      const row = rows[0]
      if (row === undefined) throw new AuthErrors.SessionRevoked()
      await this.audit.record('stepped_up', { userId, sessionId, method: amr.includes('wechat') ? 'wechat' : 'password' }, { client: c, ...(trace === undefined ? {} : { trace }) })
      return await this.keys.sign(userId, sessionId, { role: row.role, authTime: row.auth_time, amr })
    })
  }

  /**
   * Rotates a refresh token. A token already used is reuse, and reuse means theft: the whole session is
   * revoked, unless it is the immediately previous token presented within the grace period (two tabs
   * refreshing at once), which rotates again.
   */
  async refresh (refreshToken: string): Promise<TokenPair> {
    const next = newRefreshToken()
    const outcome = await withTransaction(this.pool, async (c) => {
      // Locking the session serialises every refresh of one family.
      const { rows } = await c.query<TokenRow>(
        `SELECT rt.id, rt.session_id, rt.used_at, rt.expires_at, s.user_id, s.revoked_at, s.expires_at AS session_expires_at,
                s.role, s.auth_time, s.amr,
                EXISTS (SELECT 1 FROM refresh_tokens ch WHERE ch.parent_id = rt.id AND ch.used_at IS NOT NULL) AS children_used,
                EXISTS (SELECT 1 FROM disabled_users d WHERE d.user_id = s.user_id) AS disabled
           FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
          WHERE rt.token_hash = $1
          FOR UPDATE OF s`,
        [hashToken(refreshToken)]
      )
      const row = rows[0]
      if (row === undefined) return { error: new AuthErrors.RefreshInvalid() }
      if (row.revoked_at !== null) return { error: new AuthErrors.SessionRevoked() }
      // Disabling ends every session; this also refuses one a login racing the disable opened.
      if (row.disabled) return { error: new AuthErrors.AccountDisabled() }
      const now = Date.now()
      if (row.expires_at.getTime() <= now || row.session_expires_at.getTime() <= now) return { error: new AuthErrors.RefreshExpired() }
      if (row.used_at !== null) {
        const withinGrace = now - row.used_at.getTime() <= this.settings.reuseGraceSeconds * 1000 && !row.children_used
        if (!withinGrace) {
          await c.query("UPDATE sessions SET revoked_at = now(), revoke_reason = 'refresh_token_reuse' WHERE id = $1", [row.session_id])
          // Published before the commit: a session is revoked in Postgres only once the edge refuses its tokens.
          await this.publish([{ id: row.session_id, revoked_at: new Date() }], row.user_id)
          await this.audit.record('refresh_reused', { userId: row.user_id, sessionId: row.session_id, reason: 'refresh_token_reuse' }, { client: c })
          return { error: new AuthErrors.RefreshReused() }
        }
      } else {
        await c.query('UPDATE refresh_tokens SET used_at = now() WHERE id = $1', [row.id])
      }
      await c.query(
        'INSERT INTO refresh_tokens (session_id, parent_id, token_hash, expires_at) VALUES ($1, $2, $3, $4)',
        [row.session_id, row.id, hashToken(next), row.expires_at]
      )
      await c.query('UPDATE sessions SET last_refreshed_at = now() WHERE id = $1', [row.session_id])
      return { sessionId: row.session_id, userId: row.user_id, claims: { role: row.role, authTime: row.auth_time, amr: row.amr } }
    })
    if ('error' in outcome) throw outcome.error
    const { accessToken, expiresIn } = await this.keys.sign(outcome.userId, outcome.sessionId, outcome.claims)
    return { accessToken, refreshToken: next, tokenType: 'Bearer', expiresIn }
  }

  /**
   * Ends one session of this user. Publishing is repeated for an already revoked session, so a retried logout heals
   * a lost publish. The row changes only if the revocation reached the bucket (see {@link publish}).
   */
  async revoke (userId: string, sessionId: string, reason: string, audit?: RevocationAudit, trace?: TraceContext): Promise<LogoutReply> {
    return await this.revokeWhere(userId,
      `WITH before AS (SELECT id, revoked_at AS was FROM sessions WHERE id = $1 AND user_id = $2 FOR UPDATE)
       UPDATE sessions s SET revoked_at = COALESCE(s.revoked_at, now()), revoke_reason = COALESCE(s.revoke_reason, $3)
         FROM before WHERE s.id = before.id RETURNING s.id, s.revoked_at, before.was IS NULL AS changed`,
      [sessionId, userId, reason], audit, trace)
  }

  /**
   * Ends every live session of the user, audited as `audit` says; `also` runs in the same transaction (a disabled
   * flag, an erasure and its own audit event), so it commits exactly when the revocations reached the bucket.
   */
  async revokeAll (userId: string, reason: string, audit?: RevocationAudit, trace?: TraceContext, also?: AlsoInTransaction): Promise<LogoutReply> {
    return await this.revokeWhere(userId,
      `UPDATE sessions SET revoked_at = now(), revoke_reason = $2
        WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() RETURNING id, revoked_at`,
      [userId, reason], audit, trace, also)
  }

  /** The user's live sessions, newest first, with the client each signed in from; `current` marks the caller's. */
  async list (userId: string, currentSessionId: string | undefined): Promise<SessionInfo[]> {
    const { rows } = await this.pool.query<{ id: string, method: string, created_at: Date, last_refreshed_at: Date | null, client_ip: string | null, user_agent: string | null }>(
      `SELECT id, method, created_at, last_refreshed_at, client_ip, user_agent FROM sessions
        WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() ORDER BY created_at DESC, id LIMIT 200`, [userId])
    return rows.map((r) => ({
      id: r.id,
      current: r.id === currentSessionId,
      method: r.method,
      createdAt: r.created_at.toISOString(),
      lastRefreshedAt: r.last_refreshed_at?.toISOString() ?? null,
      ip: r.client_ip,
      userAgent: r.user_agent
    }))
  }

  /**
   * Runs a revoking statement, publishes what it revoked, and records the audit event in the same transaction; a
   * repeated logout of an already ended session republishes it (healing a lost put) but is not audited again.
   */
  private async revokeWhere (userId: string, sql: string, params: unknown[], audit?: RevocationAudit, trace?: TraceContext, also?: AlsoInTransaction): Promise<LogoutReply> {
    return await withTransaction(this.pool, async (c: PoolClient) => {
      const { rows } = await c.query<{ id: string, revoked_at: Date, changed?: boolean }>(sql, params)
      if (also !== undefined) await also(c, rows.length)
      const revocations = await this.publish(rows, userId)
      const fresh = rows.filter((r) => r.changed !== false)
      if (audit !== undefined && fresh.length > 0) {
        const fields: AuditFields = { userId, sessions: fresh.length, ...audit.fields }
        if (fresh.length === 1) fields.sessionId = (fresh[0] as { id: string }).id
        await this.audit.record(audit.action, fields, { client: c, ...(trace === undefined ? {} : { trace }) })
      }
      return { revokedSessions: rows.length, revocations }
    })
  }

  /**
   * Writes revocations to the bucket inside the caller's transaction, before it commits: if the bucket is
   * unavailable the transaction rolls back and the caller gets 503 with Retry-After, so Postgres never says
   * "revoked" about a session whose tokens the edge still accepts.
   */
  private async publish (rows: Array<{ id: string, revoked_at: Date }>, userId: string): Promise<AppliedRevocation[]> {
    try {
      return await Promise.all(rows.map(async (r) => ({ sessionId: r.id, revision: await this.revocations.revoke(r.id, userId, r.revoked_at) })))
    } catch (err) {
      throw annotate(new AuthErrors.RevocationUnavailable({ cause: err }), { headers: { 'retry-after': '2' } })
    }
  }

  /** Whether a session is live; for operations that must not run on a revoked session's token. */
  async isLive (sessionId: string): Promise<boolean> {
    const { rows } = await this.pool.query('SELECT 1 FROM sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()', [sessionId])
    return rows.length > 0
  }

  /**
   * Republishes revocations younger than any access token, e.g. after NATS lost the bucket; run at boot. A failed
   * put rejects the whole call, which the caller retries (a put of the same value is harmless).
   */
  async republishRecent (windowMs: number): Promise<number> {
    const { rows } = await this.pool.query<{ id: string, user_id: string, revoked_at: Date }>(
      'SELECT id, user_id, revoked_at FROM sessions WHERE revoked_at > now() - make_interval(secs => $1)',
      [windowMs / 1000]
    )
    for (const r of rows) await this.revocations.revoke(r.id, r.user_id, r.revoked_at)
    return rows.length
  }
}
