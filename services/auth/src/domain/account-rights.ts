import type { Pool, PoolClient } from 'pg'
import { Errors, isAppError, maskPhone, withTransaction, type Log, type TraceContext } from '@wxmp/core'
import {
  Contracts, type AccountDeletedReply, type AdminUser, type LogoutAllReply, type LogoutReply, type SessionInfo,
  type UserProfile, type UserStatusReply
} from '@wxmp/contracts'
import type { NatsClient } from '@wxmp/nats'
import { AuthErrors } from '../errors.js'
import type { Audit } from './audit.js'
import type { Sessions } from './sessions.js'
import { usernameKey } from './username-key.js'

/** Why an account was erased: its owner asked, or WeChat's push said the user withdrew or cancelled. */
export type ErasureCause = 'user' | 'user_authorization_revoke' | 'user_authorization_cancellation'

export interface AccountRightsDeps {
  pool: Pool
  sessions: Sessions
  /** The audit stream (events.auth.<action>), written in each action's transaction. */
  audit: Audit
  /** Calls the user service (user.get, user.erase, user.search). */
  nats: NatsClient
  /** Drops what auth caches about a user outside Postgres (the sealed session_key and openid in Redis). */
  forgetCached: (userId: string) => Promise<void>
  log: Log
}

const SEARCH_LIMIT = 20

/**
 * The user's rights over their account and staff's hold on it: the session list, ending one session, logout-all
 * that can remove the password, account erasure (by the user or a WeChat push), and disabling. Every change that
 * ends sessions goes through {@link Sessions}, so the reply carries the KV revisions the answering gateway applies,
 * and its audit event is written in the same transaction through the outbox.
 */
export class AccountRights {
  constructor (private readonly d: AccountRightsDeps) {}

  async listSessions (userId: string, currentSessionId: string | undefined): Promise<SessionInfo[]> {
    return await this.d.sessions.list(userId, currentSessionId)
  }

  /**
   * Ends one of the user's own sessions (404 for another user's or an unknown one); audited as
   * events.auth.session_revoked once: a repeat republishes the revocation, like a repeated logout, and is not audited.
   */
  async revokeSession (userId: string, sessionId: string, trace: TraceContext): Promise<LogoutReply> {
    const reply = await this.d.sessions.revoke(userId, sessionId, 'revoked_from_list', { action: 'session_revoked', fields: { reason: 'revoked_from_list' } }, trace)
    if (reply.revokedSessions === 0) throw new Errors.NotFound('Session not found')
    return reply
  }

  /** Ends every session; with `removePassword`, the username and password (and its TOTP) go too, in one transaction. */
  async logoutAll (userId: string, removePassword: boolean, trace: TraceContext): Promise<LogoutAllReply> {
    let passwordRemoved = false
    const reason = removePassword ? 'logout_all_remove_password' : 'logout_all'
    const reply = await this.d.sessions.revokeAll(userId, reason, { action: 'logged_out', fields: { reason } }, trace, async (c) => {
      if (removePassword) passwordRemoved = await this.removeCredentials(c, userId)
    })
    return { ...reply, passwordRemoved }
  }

  /** The account may sign in; 403 ACCOUNT_DISABLED otherwise. */
  async assertEnabled (userId: string): Promise<void> {
    const { rows } = await this.d.pool.query('SELECT 1 FROM disabled_users WHERE user_id = $1', [userId])
    if (rows.length > 0) throw new AuthErrors.AccountDisabled()
  }

  /**
   * Refuses the user's sign-ins and ends every session at once. Disabling a disabled user ends any session left and
   * is not audited again; staff cannot disable themselves (they would lock the door behind them).
   */
  async disable (actorId: string, userId: string, trace: TraceContext): Promise<UserStatusReply> {
    if (actorId === userId) throw new Errors.Conflict('You cannot disable your own account')
    await this.assertUserExists(userId, trace)
    const reply = await this.d.sessions.revokeAll(userId, 'disabled', undefined, trace, async (c, revoked) => {
      const { rowCount } = await c.query('INSERT INTO disabled_users (user_id, disabled_by) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING', [userId, actorId])
      if (rowCount === 1) await this.d.audit.record('user_disabled', { userId, actorId, sessions: revoked }, { client: c, trace })
    })
    this.d.log.info({ actorId, userId, sessions: reply.revokedSessions }, 'user disabled')
    return { userId, disabled: true, ...reply }
  }

  /** Lets a disabled user sign in again (their old sessions stay ended). Audited once per change. */
  async enable (actorId: string, userId: string, trace: TraceContext): Promise<UserStatusReply> {
    await this.assertUserExists(userId, trace)
    await withTransaction(this.d.pool, async (c) => {
      const { rowCount } = await c.query('DELETE FROM disabled_users WHERE user_id = $1', [userId])
      if (rowCount === 1) await this.d.audit.record('user_enabled', { userId, actorId }, { client: c, trace })
    })
    this.d.log.info({ actorId, userId }, 'user enabled')
    return { userId, disabled: false, revokedSessions: 0, revocations: [] }
  }

  /**
   * Erases an account: the profile, phone and WeChat identity in the user service first (so a failure leaves the
   * user signed in to retry), then in one transaction every session ended, the password and TOTP removed, the
   * session list's addresses blanked and events.auth.account_deleted written, once however often it is repeated.
   */
  async deleteAccount (userId: string, actorId: string | null, cause: ErasureCause, trace: TraceContext): Promise<AccountDeletedReply> {
    await this.d.nats.request(Contracts.user.erase, { userId }, trace)
    return await this.finishErasure(userId, actorId, cause, trace)
  }

  /**
   * The erasure a WeChat push asks for (user_authorization_revoke / _cancellation) for the openid it names; nothing
   * when no user has that identity any more (erased before, or never signed in). Safe to repeat.
   */
  async eraseByOpenid (appid: string, openid: string, cause: ErasureCause, trace: TraceContext): Promise<AccountDeletedReply | undefined> {
    let userId: string
    try {
      userId = (await this.d.nats.request(Contracts.user.erase, { appid, openid }, trace)).data.userId
    } catch (err) {
      if (isAppError(err) && err.statusCode === 404) return undefined
      throw err
    }
    return await this.finishErasure(userId, null, cause, trace)
  }

  private async finishErasure (userId: string, actorId: string | null, cause: ErasureCause, trace: TraceContext): Promise<AccountDeletedReply> {
    const reply = await this.d.sessions.revokeAll(userId, 'account_deleted', undefined, trace, async (c, revoked) => {
      await this.removeCredentials(c, userId)
      await c.query('UPDATE sessions SET client_ip = NULL, user_agent = NULL WHERE user_id = $1', [userId])
      const { rowCount } = await c.query('INSERT INTO deleted_accounts (user_id, cause, actor_id) VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING', [userId, cause, actorId])
      // actorId only when someone else did it (the audit stream's rule); the cause says who asked.
      if (rowCount === 1) await this.d.audit.record('account_deleted', { userId, ...(actorId !== null && actorId !== userId ? { actorId } : {}), reason: cause, sessions: revoked }, { client: c, trace })
    })
    // The sealed session_key also expires on its own (SESSION_KEY_TTL_SECONDS); a Redis outage must not undo an erasure.
    await this.d.forgetCached(userId).catch((err: Error) => { this.d.log.warn({ err: { message: err.message }, userId }, 'cached session_key not dropped: redis unavailable') })
    this.d.log.info({ userId, cause, sessions: reply.revokedSessions }, 'account erased')
    return { deleted: true, ...reply }
  }

  private async removeCredentials (c: PoolClient, userId: string): Promise<boolean> {
    const { rowCount } = await c.query('DELETE FROM password_credentials WHERE user_id = $1', [userId])
    await c.query('DELETE FROM totp_factors WHERE user_id = $1', [userId])
    return rowCount === 1
  }

  private async assertUserExists (userId: string, trace: TraceContext): Promise<void> {
    try {
      await this.d.nats.request(Contracts.user.get, { userId }, trace)
    } catch (err) {
      if (isAppError(err) && err.statusCode === 404) throw new Errors.NotFound('User not found')
      throw err
    }
  }

  /** Users whose id, username (any spelling) or phone number is `q`, for staff; at most 20. */
  async findUsers (q: string, trace: TraceContext): Promise<AdminUser[]> {
    const query = q.trim()
    const profiles = new Map<string, UserProfile>()
    for (const p of (await this.d.nats.request(Contracts.user.search, { q: query }, trace)).data.users) profiles.set(p.id, p)
    const { rows: named } = await this.d.pool.query<{ user_id: string }>('SELECT user_id FROM password_credentials WHERE username_key = $1', [usernameKey(query)])
    for (const { user_id: id } of named) {
      if (profiles.has(id)) continue
      try {
        profiles.set(id, (await this.d.nats.request(Contracts.user.get, { userId: id }, trace)).data)
      } catch (err) {
        if (!(isAppError(err) && err.statusCode === 404)) throw err
      }
    }
    const ids = [...profiles.keys()].slice(0, SEARCH_LIMIT)
    if (ids.length === 0) return []
    const { rows } = await this.d.pool.query<{ id: string, username: string | null, disabled: boolean, deleted: boolean }>(
      `SELECT u.id, pc.username, d.user_id IS NOT NULL AS disabled, x.user_id IS NOT NULL AS deleted
         FROM unnest($1::uuid[]) AS u(id)
         LEFT JOIN password_credentials pc ON pc.user_id = u.id
         LEFT JOIN disabled_users d ON d.user_id = u.id
         LEFT JOIN deleted_accounts x ON x.user_id = u.id`, [ids])
    return rows.map((r) => {
      const p = profiles.get(r.id) as UserProfile
      // The user service masks phones already; mask again in case a profile ever arrives unmasked.
      return { id: r.id, nickname: p.nickname, phone: p.phone === null ? null : maskPhone(p.phone), username: r.username, disabled: r.disabled, deleted: r.deleted, createdAt: p.createdAt }
    })
  }
}
