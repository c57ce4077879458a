import type { UserProfile } from '@wxmp/contracts'

/** A profile as read from Postgres, with what `user.ensure` compares (the unionid) and the WeChat identity it is found by. */
export interface CachedUser {
  profile: UserProfile
  unionid: string | null
  /** `appid/openid`, or null for a user without WeChat identity (or an erased one). */
  identity: string | null
}

export interface ProfileCacheOptions {
  /** Most profiles held; the oldest goes first. */
  maxEntries: number
  /** Longest a profile is served without reading Postgres again: the bound on staleness if an invalidation is missed. */
  ttlMs: number
  /** After another replica is seen taking a write, how long this one neither serves nor keeps that user's profile. */
  holdMs: number
}

interface Entry extends CachedUser { expiresAt: number }

export const identityKey = (appid: string, openid: string): string => `${appid}/${openid}`

/**
 * Profiles the user service served lately, by id and by WeChat identity, so `user.me` and a returning user's
 * `user.ensure` skip Postgres. The user service is the only writer of profiles: its write paths invalidate here
 * after they commit, and every replica also hears every write request (see README), holding that user out of the
 * cache until the write has had time to commit. A read keeps what it read only if no invalidation happened while it
 * ran (the epoch), so a read racing a write never puts the old row back.
 */
export class ProfileCache {
  private readonly byId = new Map<string, Entry>()
  private readonly byIdentity = new Map<string, string>()
  private readonly held = new Map<string, number>()
  private heldAllUntil = 0
  private epoch = 0

  constructor (private readonly opts: ProfileCacheOptions, private readonly now: () => number = Date.now) {}

  /** The token a read takes before it queries, and passes to {@link keep} afterwards. */
  mark (): number {
    return this.epoch
  }

  get (userId: string): CachedUser | undefined {
    const entry = this.byId.get(userId)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= this.now()) {
      this.drop(userId)
      return undefined
    }
    return entry
  }

  byWechat (appid: string, openid: string): CachedUser | undefined {
    const userId = this.byIdentity.get(identityKey(appid, openid))
    return userId === undefined ? undefined : this.get(userId)
  }

  /** Keeps a row read since `mark`, unless any invalidation came in between or the user is held. */
  keep (mark: number, user: CachedUser): void {
    if (mark !== this.epoch || this.opts.maxEntries === 0 || this.isHeld(user.profile.id)) return
    this.drop(user.profile.id)
    if (this.byId.size >= this.opts.maxEntries) {
      const oldest = this.byId.keys().next()
      if (oldest.done !== true) this.drop(oldest.value)
    }
    this.byId.set(user.profile.id, { ...user, expiresAt: this.now() + this.opts.ttlMs })
    if (user.identity !== null) this.byIdentity.set(user.identity, user.profile.id)
  }

  /** Forgets a user after a write of this replica committed. */
  invalidate (userId: string): void {
    this.epoch++
    this.drop(userId)
  }

  /** A write of `userId` is under way somewhere: forget it now and keep it out until the write has committed. */
  hold (userId: string): void {
    this.invalidate(userId)
    const now = this.now()
    for (const [id, until] of this.held) if (until <= now) this.held.delete(id)
    this.held.set(userId, now + this.opts.holdMs)
  }

  /** A write of a user known only by WeChat identity, not held here: forget everything for a while. */
  holdIdentity (appid: string, openid: string): void {
    const userId = this.byIdentity.get(identityKey(appid, openid))
    if (userId !== undefined) {
      this.hold(userId)
      return
    }
    this.epoch++
    this.byId.clear()
    this.byIdentity.clear()
    this.heldAllUntil = this.now() + this.opts.holdMs
  }

  private isHeld (userId: string): boolean {
    const now = this.now()
    if (this.heldAllUntil > now) return true
    const until = this.held.get(userId)
    return until !== undefined && until > now
  }

  private drop (userId: string): void {
    const entry = this.byId.get(userId)
    if (entry === undefined) return
    this.byId.delete(userId)
    if (entry.identity !== null && this.byIdentity.get(entry.identity) === userId) this.byIdentity.delete(entry.identity)
  }
}
