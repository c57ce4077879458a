import type { Pool } from 'pg'
import { maskPhone, withTransaction, type TraceContext } from '@wxmp/core'
import { Events, type UserProfile } from '@wxmp/contracts'
import { enqueueEvent } from '@wxmp/service'
import { identityKey, type CachedUser, type ProfileCache } from './profile-cache.js'

interface UserRow {
  id: string
  appid: string | null
  nickname: string | null
  avatar_url: string | null
  phone: string | null
  created_at: Date
}

interface CacheableRow extends UserRow { openid: string | null, unionid: string | null }

const COLUMNS = 'id, appid, nickname, avatar_url, phone, created_at'
const CACHED_COLUMNS = `${COLUMNS}, openid, unionid`
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** What a client may see of a user: no openid, the phone masked. */
export function toProfile (row: UserRow): UserProfile {
  return {
    id: row.id,
    nickname: row.nickname,
    avatarUrl: row.avatar_url,
    phone: row.phone === null ? null : maskPhone(row.phone),
    createdAt: row.created_at.toISOString()
  }
}

function cached (row: CacheableRow): CachedUser {
  return { profile: toProfile(row), unionid: row.unionid, identity: row.appid === null || row.openid === null ? null : identityKey(row.appid, row.openid) }
}

/**
 * Users by WeChat identity or id; creation publishes events.user.created through the outbox. Reads go through the
 * profile cache; every write forgets the user there once it has committed.
 */
export class Users {
  constructor (private readonly pool: Pool, private readonly cache: ProfileCache) {}

  /**
   * Finds or creates the user of (appid, openid) in one statement, so two first logins at once make one
   * user. A unionid learnt later is kept.
   */
  async ensure (identity: { appid: string, openid: string, unionid?: string }, trace?: TraceContext): Promise<{ profile: UserProfile, created: boolean }> {
    // Most logins are returning users: no write when nothing changed, and no read when the profile is cached.
    const unchanged = (u: CachedUser): boolean => identity.unionid === undefined || identity.unionid === u.unionid
    const hit = this.cache.byWechat(identity.appid, identity.openid)
    if (hit !== undefined && unchanged(hit)) return { profile: hit.profile, created: false }
    const mark = this.cache.mark()
    const { rows: found } = await this.pool.query<CacheableRow>(
      `SELECT ${CACHED_COLUMNS} FROM users WHERE appid = $1 AND openid = $2`, [identity.appid, identity.openid])
    const existing = found[0]
    if (existing !== undefined) {
      const user = cached(existing)
      this.cache.keep(mark, user)
      if (unchanged(user)) return { profile: user.profile, created: false }
    }
    const result = await withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<UserRow & { created: boolean }>(
        `INSERT INTO users (appid, openid, unionid) VALUES ($1, $2, $3)
         ON CONFLICT (appid, openid) DO UPDATE SET unionid = COALESCE(EXCLUDED.unionid, users.unionid),
           updated_at = CASE WHEN EXCLUDED.unionid IS DISTINCT FROM users.unionid AND EXCLUDED.unionid IS NOT NULL THEN now() ELSE users.updated_at END
         RETURNING ${COLUMNS}, (xmax = 0) AS created`,
        [identity.appid, identity.openid, identity.unionid ?? null]
      )
      const row = rows[0] as UserRow & { created: boolean }
      if (row.created) await this.created(client, row, trace)
      return { profile: toProfile(row), created: row.created }
    })
    this.cache.invalidate(result.profile.id)
    return result
  }

  /** A user with no WeChat identity, for password-only accounts. */
  async create (trace?: TraceContext): Promise<UserProfile> {
    return await withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<UserRow>(`INSERT INTO users DEFAULT VALUES RETURNING ${COLUMNS}`)
      const row = rows[0] as UserRow
      await this.created(client, row, trace)
      return toProfile(row)
    })
  }

  private async created (client: Parameters<typeof enqueueEvent>[0], row: UserRow, trace?: TraceContext): Promise<void> {
    await enqueueEvent(client, Events.userCreated, { userId: row.id, appid: row.appid, createdAt: row.created_at.toISOString() }, trace === undefined ? {} : { trace })
  }

  async get (id: string): Promise<UserProfile | undefined> {
    const hit = this.cache.get(id)
    if (hit !== undefined) return hit.profile
    const mark = this.cache.mark()
    const { rows } = await this.pool.query<CacheableRow>(`SELECT ${CACHED_COLUMNS} FROM users WHERE id = $1`, [id])
    if (rows[0] === undefined) return undefined
    const user = cached(rows[0])
    this.cache.keep(mark, user)
    return user.profile
  }

  /** The WeChat identity of a user, or undefined for an unknown user or one without WeChat. */
  async identity (id: string): Promise<{ appid: string, openid: string } | undefined> {
    const { rows } = await this.pool.query<{ appid: string | null, openid: string | null }>('SELECT appid, openid FROM users WHERE id = $1', [id])
    const row = rows[0]
    return row?.appid == null || row.openid == null ? undefined : { appid: row.appid, openid: row.openid }
  }

  async update (id: string, patch: { nickname?: string, avatarUrl?: string | null }): Promise<UserProfile | undefined> {
    const { rows } = await this.pool.query<UserRow>(
      `UPDATE users SET
         nickname = CASE WHEN $2::boolean THEN $3 ELSE nickname END,
         avatar_url = CASE WHEN $4::boolean THEN $5 ELSE avatar_url END,
         updated_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, patch.nickname !== undefined, patch.nickname ?? null, patch.avatarUrl !== undefined, patch.avatarUrl ?? null]
    )
    this.cache.invalidate(id)
    return rows[0] === undefined ? undefined : toProfile(rows[0])
  }

  /**
   * Erases a user, found by id or by WeChat identity: profile, phone, openid and unionid set to NULL, and
   * events.user.deleted written in the same transaction, once. The row and its id stay, naming nobody, for the
   * orders that refer to it. Undefined when no user matches (unknown, or an identity already erased).
   */
  async erase (by: { userId: string } | { appid: string, openid: string }, trace?: TraceContext): Promise<{ userId: string, erased: boolean } | undefined> {
    const result = await withTransaction(this.pool, async (client) => {
      const { rows } = 'userId' in by
        ? await client.query<{ id: string, deleted_at: Date | null }>('SELECT id, deleted_at FROM users WHERE id = $1 FOR UPDATE', [by.userId])
        : await client.query<{ id: string, deleted_at: Date | null }>('SELECT id, deleted_at FROM users WHERE appid = $1 AND openid = $2 FOR UPDATE', [by.appid, by.openid])
      const row = rows[0]
      if (row === undefined) return undefined
      if (row.deleted_at !== null) return { userId: row.id, erased: false }
      const { rows: done } = await client.query<{ deleted_at: Date }>(
        `UPDATE users SET appid = NULL, openid = NULL, unionid = NULL, nickname = NULL, avatar_url = NULL, phone = NULL,
           deleted_at = now(), updated_at = now() WHERE id = $1 RETURNING deleted_at`, [row.id])
      const deletedAt = (done[0] as { deleted_at: Date }).deleted_at.toISOString()
      await enqueueEvent(client, Events.userDeleted, { userId: row.id, deletedAt }, trace === undefined ? {} : { trace })
      return { userId: row.id, erased: true }
    })
    if (result !== undefined) this.cache.invalidate(result.userId)
    return result
  }

  /** Users whose id or phone number is `q` (a phone with or without +86), for staff search; at most 20. */
  async search (q: string): Promise<UserProfile[]> {
    if (UUID.test(q)) {
      const found = await this.get(q)
      return found === undefined ? [] : [found]
    }
    const digits = q.replace(/[\s-]/g, '')
    if (!/^\+?[0-9]{5,20}$/.test(digits)) return []
    const national = digits.replace(/^\+?86(?=[0-9]{11}$)/, '')
    const { rows } = await this.pool.query<UserRow>(
      `SELECT ${COLUMNS} FROM users WHERE phone = ANY($1::text[]) ORDER BY created_at DESC LIMIT 20`,
      [[...new Set([digits, national, `+86${national}`, `86${national}`])]])
    return rows.map(toProfile)
  }

  async setPhone (id: string, phone: string): Promise<UserProfile | undefined> {
    const { rows } = await this.pool.query<UserRow>(`UPDATE users SET phone = $2, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`, [id, phone])
    this.cache.invalidate(id)
    return rows[0] === undefined ? undefined : toProfile(rows[0])
  }
}
