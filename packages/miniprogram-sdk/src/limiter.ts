/**
 * At most `max` tasks running at once, the rest queued in order. WeChat fails the 11th concurrent wx.request on
 * some base library versions and queues it on others; queueing here makes every version behave the same.
 */
export class Limiter {
  private running = 0
  private readonly waiting: Array<() => void> = []

  constructor (private readonly max: number) {
    if (!(max >= 1)) throw new Error('maxInFlight must be at least 1')
  }

  /** Tasks running now. */
  get inFlight (): number { return this.running }
  /** Tasks waiting for a slot. */
  get queued (): number { return this.waiting.length }

  async run<T> (task: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) await new Promise<void>((resolve) => { this.waiting.push(resolve) })
    else this.running++
    try {
      return await task()
    } finally {
      // The slot passes straight to the next waiter, so `running` never dips below the cap while work is queued.
      const next = this.waiting.shift()
      if (next !== undefined) next()
      else this.running--
    }
  }
}
