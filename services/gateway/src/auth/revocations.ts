import { Kvm, type KV } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import { REVOCATION_BUCKET, prefixedName } from '@wxmp/contracts'
import type { FastifyBaseLogger } from 'fastify'

export interface RevocationOptions {
  nc: NatsConnection
  prefix: string
  log: FastifyBaseLogger
  retryMs: number
}

/**
 * Revoked sessions, mirrored in memory from the JetStream KV bucket the auth service writes, so
 * checking a token costs a Map lookup and no network call. The watcher gets every current entry
 * first, then each new one as it is written; the client resumes it after a reconnect.
 * Entries leave the map when the bucket's TTL would have removed them.
 */
export class Revocations {
  private readonly revoked = new Map<string, number>()
  private loaded = false
  private stopped = false
  private watcher: { stop: () => void } | undefined
  private sweeper: NodeJS.Timeout | undefined
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined

  constructor (private readonly opts: RevocationOptions) {}

  /** Whether the initial entries have been read, so a refusal can be trusted. */
  get ready (): boolean { return this.loaded }

  isRevoked (sessionId: string): boolean {
    const until = this.revoked.get(sessionId)
    if (until === undefined) return false
    if (until > Date.now()) return true
    this.revoked.delete(sessionId)
    return false
  }

  start (): void {
    this.sweeper = setInterval(() => {
      const now = Date.now()
      for (const [sid, until] of this.revoked) if (until <= now) this.revoked.delete(sid)
    }, 60000)
    this.sweeper.unref()
    this.running = this.watch()
  }

  /**
   * Stops watching, and waits for a watch being set up to finish and stop too: one created while
   * the connection drains would keep retrying a closed connection from its heartbeat timer.
   */
  async stop (): Promise<void> {
    this.stopped = true
    clearInterval(this.sweeper)
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

  private async watch (): Promise<void> {
    let iter: Awaited<ReturnType<KV['watch']>> | undefined
    try {
      const kv = await Revocations.openBucket(this.opts.nc, this.opts.prefix)
      if (this.stopped) return
      const empty = (await kv.status()).values === 0
      if (this.stopped) return
      iter = await kv.watch()
      this.watcher = iter
      if (this.stopped) return
      // The watcher's own count of initial entries; it is zero when the last ones expired meanwhile.
      const pending = await (iter as unknown as { _data?: { info: (cached: boolean) => Promise<{ num_pending: number }> } })._data?.info(true).catch(() => undefined)
      if (empty || pending?.num_pending === 0) this.markLoaded()
      for await (const e of iter) {
        if (e.operation === 'PUT') {
          this.revoked.set(e.key, e.created.getTime() + REVOCATION_BUCKET.ttlMs)
        } else {
          this.revoked.delete(e.key)
        }
        if (e.delta === 0 || e.isUpdate) this.markLoaded()
      }
    } catch (err) {
      this.opts.log.warn({ err: { message: (err as Error).message } }, 'revocation watch failed, retrying')
    } finally {
      // Every watcher is stopped, also one whose loop failed: a forgotten one keeps heartbeat timers alive.
      iter?.stop()
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => { this.running = this.watch() }, this.opts.retryMs)
      this.timer.unref()
    }
  }

  private markLoaded (): void {
    if (this.loaded) return
    this.loaded = true
    this.opts.log.info({ revoked: this.revoked.size }, 'revoked sessions loaded')
  }
}
