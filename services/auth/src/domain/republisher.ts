import type { Log } from '@wxmp/core'

export interface RepublisherOptions {
  /** Republishes what must be in the bucket; resolves with how many entries it wrote. */
  republish: () => Promise<number>
  log: Log
  /** First wait after a failure; it doubles up to maxBackoffMs. */
  backoffMs?: number
  maxBackoffMs?: number
}

/**
 * Republishes recent revocations in the background until it succeeds once, with backoff and jitter between
 * attempts: NATS may have lost the bucket (a store wiped, a node replaced), and the gateways must still learn of
 * recent logouts. A failure is logged and retried, never thrown: it must not stop the process from serving.
 */
export class Republisher {
  private stopped = false
  private running: Promise<void> | undefined
  private pause: { timer: NodeJS.Timeout, resolve: () => void } | undefined
  private done = false

  constructor (private readonly opts: RepublisherOptions) {}

  /** Whether a republish has succeeded since start. */
  get completed (): boolean { return this.done }

  start (): void {
    this.running ??= this.run()
  }

  async stop (): Promise<void> {
    this.stopped = true
    if (this.pause !== undefined) { clearTimeout(this.pause.timer); this.pause.resolve() }
    await this.running
  }

  private async run (): Promise<void> {
    const base = this.opts.backoffMs ?? 500
    const max = this.opts.maxBackoffMs ?? 30_000
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        const n = await this.opts.republish()
        this.done = true
        this.opts.log.info({ sessions: n, attempt }, 'recent revocations republished')
        return
      } catch (err) {
        const ceiling = Math.min(base * 2 ** (attempt - 1), max)
        const wait = Math.round(ceiling / 2 + Math.random() * ceiling / 2)
        this.opts.log.warn({ err: { message: (err as Error).message }, attempt, retryInMs: wait }, 'republishing recent revocations failed; retrying')
        await new Promise<void>((resolve) => { this.pause = { timer: setTimeout(resolve, wait), resolve } })
        this.pause = undefined
      }
    }
  }
}
