import { Kvm, type KV } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import { REVOCATION_BUCKET, prefixedName, type AppliedRevocation } from '@wxmp/contracts'
import type { FastifyBaseLogger } from 'fastify'

export interface RevocationOptions {
  nc: NatsConnection
  prefix: string
  log: FastifyBaseLogger
  retryMs: number
  /** Replicas of the bucket if this gateway is the first to open it (NATS_JS_REPLICAS). */
  replicas: number
  /** How often the view is compared with the bucket's last revision. */
  checkMs: number
  /** How long the view may go unconfirmed (bucket unreachable, watch stuck) before it counts as stale. */
  staleMs: number
}

/**
 * Revoked sessions, mirrored in memory from the JetStream KV bucket the auth service writes, so
 * checking a token costs a Map lookup and no network call. The watcher gets every current entry
 * first, then each new one as it is written.
 *
 * A watch can fall behind without failing (its consumer lived on a node that went away), so the
 * view is health-checked: every `checkMs` the last revision the watch delivered is compared with the
 * bucket's; a watch still behind at the next check is recreated at once. A view not confirmed
 * current for `staleMs` is stale, and the edge answers 503 rather than trust tokens it might have
 * missed the revocation of. Entries leave the map when the bucket's TTL would have removed them.
 */
export class Revocations {
  private readonly revoked = new Map<string, number>()
  private loaded = false
  private watching = false
  private stopped = false
  private watcher: { stop: () => void } | undefined
  private kv: KV | undefined
  private sweeper: NodeJS.Timeout | undefined
  private timer: NodeJS.Timeout | undefined
  private checker: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private checking = false
  /** The highest revision the current watch delivered, or the bucket's last one when the watch began. */
  private seen = 0
  /** The bucket's revision at the previous check when the watch was behind it. */
  private behind: number | undefined
  private confirmedAt = 0
  private recreate = false

  constructor (private readonly opts: RevocationOptions) {}

  /** Whether the initial entries have been read, so a refusal can be trusted. */
  get ready (): boolean { return this.loaded }

  /** Loaded and confirmed current within the staleness bound: an accepted token was not revoked before that. */
  get healthy (): boolean { return this.loaded && Date.now() - this.confirmedAt <= this.opts.staleMs }

  /** Loaded, but not confirmed current for longer than the bound (bucket unreachable, or the watch stuck). */
  get stale (): boolean { return this.loaded && !this.healthy }

  /** The last bucket revision this view is known to include. */
  get revision (): number { return this.seen }

  /** Whether a watch is running and the view is healthy; false from the moment the watch dies until a new one catches up. */
  get live (): boolean { return this.watching && this.healthy }

  isRevoked (sessionId: string): boolean {
    const until = this.revoked.get(sessionId)
    if (until === undefined) return false
    if (until > Date.now()) return true
    this.revoked.delete(sessionId)
    return false
  }

  /**
   * Applies revocations auth has just written (a logout's reply), before the gateway answers: the watch
   * delivers the same entries a moment later, and this gateway must not accept the token in between.
   */
  apply (revocations: readonly AppliedRevocation[]): void {
    const until = Date.now() + REVOCATION_BUCKET.ttlMs
    for (const r of revocations) this.revoked.set(r.sessionId, Math.max(this.revoked.get(r.sessionId) ?? 0, until))
  }

  start (): void {
    this.sweeper = setInterval(() => {
      const now = Date.now()
      for (const [sid, until] of this.revoked) if (until <= now) this.revoked.delete(sid)
    }, 60000)
    this.sweeper.unref()
    this.checker = setInterval(() => { void this.check() }, this.opts.checkMs)
    this.checker.unref()
    this.running = this.watch()
  }

  /**
   * Stops watching, and waits for a watch being set up to finish and stop too: one created while
   * the connection drains would keep retrying a closed connection from its heartbeat timer.
   */
  async stop (): Promise<void> {
    this.stopped = true
    clearInterval(this.sweeper)
    clearInterval(this.checker)
    clearTimeout(this.timer)
    this.watcher?.stop()
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.running, new Promise((resolve) => { timer = setTimeout(resolve, 5000) })])
    clearTimeout(timer)
  }

  /**
   * Opens the bucket auth creates: the gateway may only read it (the permission matrix), so until auth has
   * created it this fails and the watch retries.
   */
  static async openBucket (nc: NatsConnection, prefix: string): Promise<KV> {
    return await new Kvm(nc).open(prefixedName(prefix, REVOCATION_BUCKET.name))
  }

  /** Compares the watch's revision with the bucket's; recreates a watch that stayed behind for a whole check. */
  private async check (): Promise<void> {
    const kv = this.kv
    if (this.checking || this.stopped || kv === undefined || !this.loaded) return
    this.checking = true
    try {
      const last = (await kv.status()).streamInfo.state.last_seq
      if (this.seen >= last) {
        this.confirmedAt = Date.now()
        this.behind = undefined
      } else if (this.behind !== undefined && this.seen < this.behind) {
        this.opts.log.warn({ seen: this.seen, bucket: last }, 'revocation watch fell behind the bucket; recreating it')
        this.behind = undefined
        this.recreate = true
        this.watcher?.stop()
      } else {
        this.behind = last
      }
    } catch (err) {
      this.opts.log.debug({ err: { message: (err as Error).message } }, 'revocation bucket unreachable for its health check')
    } finally {
      this.checking = false
    }
  }

  private async watch (): Promise<void> {
    let iter: Awaited<ReturnType<KV['watch']>> | undefined
    try {
      const kv = await Revocations.openBucket(this.opts.nc, this.opts.prefix)
      if (this.stopped) return
      // The watch delivers every entry up to at least this revision; entries below it that expired never come.
      const start = (await kv.status()).streamInfo.state
      const empty = start.messages === 0
      if (this.stopped) return
      iter = await kv.watch()
      this.watcher = iter
      this.kv = kv
      if (this.stopped) return
      const caughtUp = (): void => {
        this.seen = Math.max(this.seen, start.last_seq)
        this.confirmedAt = Date.now()
        this.markLoaded()
      }
      // The watcher's own count of initial entries; it is zero when the last ones expired meanwhile.
      const pending = await (iter as unknown as { _data?: { info: (cached: boolean) => Promise<{ num_pending: number }> } })._data?.info(true).catch(() => undefined)
      if (empty || pending?.num_pending === 0) caughtUp()
      for await (const e of iter) {
        if (e.operation === 'PUT') {
          this.revoked.set(e.key, e.created.getTime() + REVOCATION_BUCKET.ttlMs)
        } else {
          this.revoked.delete(e.key)
        }
        this.seen = Math.max(this.seen, e.revision)
        if (e.delta === 0 || e.isUpdate) caughtUp()
      }
    } catch (err) {
      this.opts.log.warn({ err: { message: (err as Error).message } }, 'revocation watch failed, retrying')
    } finally {
      this.watching = false
      // Every watcher is stopped, also one whose loop failed: a forgotten one keeps heartbeat timers alive.
      iter?.stop()
    }
    if (!this.stopped) {
      const delay = this.recreate ? 0 : this.opts.retryMs
      this.recreate = false
      this.timer = setTimeout(() => { this.running = this.watch() }, delay)
      this.timer.unref()
    }
  }

  private markLoaded (): void {
    this.watching = true
    if (this.loaded) return
    this.loaded = true
    this.opts.log.info({ revoked: this.revoked.size }, 'revoked sessions loaded')
  }
}
