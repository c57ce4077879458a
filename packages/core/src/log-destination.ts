import pino from 'pino'

/** pino's level numbers: a line at `error` or above is written at once. */
const ERROR_LEVEL = 50

export interface BatchedDestinationOptions {
  /** File descriptor written to; stdout by default. */
  fd?: number
  /** Bytes gathered before one write(2). */
  minLength: number
  /** Longest a line may wait for the batch to fill. */
  maxDelayMs: number
}

/**
 * A pino destination that gathers lines into one write(2) per `minLength` bytes, as sonic-boom's
 * `minLength` does, but never holds a line longer than `maxDelayMs`: at low traffic a batch would
 * otherwise wait for lines that do not come. A batch is written synchronously, one system call
 * whatever the number of lines, so lines never overtake each other and a flush is complete when it
 * returns. A line at `error` or above is written at once with everything before it, so an uncaught
 * exception or a fatal error is on stdout with the lines that explain it before the process can die;
 * what is left is written on exit.
 */
export class BatchedDestination {
  /** Read by pino, which then sets `lastLevel` before each write. */
  readonly [pino.symbols.needsMetadataGsym] = true
  lastLevel = 0

  private readonly out: ReturnType<typeof pino.destination>
  private pending = ''
  private timer: NodeJS.Timeout | undefined
  private readonly flushOnExit = (): void => { this.flushSync() }

  constructor (private readonly opts: BatchedDestinationOptions) {
    this.out = pino.destination({ dest: opts.fd ?? 1, sync: true })
    process.once('exit', this.flushOnExit)
  }

  write (line: string): boolean {
    this.pending += line
    if (this.lastLevel >= ERROR_LEVEL) {
      this.flushSync()
    } else if (this.pending.length >= this.opts.minLength) {
      this.flushSync()
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => { this.timer = undefined; this.flushSync() }, this.opts.maxDelayMs)
      // A pending batch never keeps the process alive; the exit handler writes it.
      this.timer.unref()
    }
    return true
  }

  /** Writes everything gathered so far before returning (pino's `logger.flush(cb)` lands here too). */
  flush (cb?: (err?: Error) => void): void {
    this.flushSync()
    cb?.()
  }

  /** Writes everything gathered so far before returning. */
  flushSync (): void {
    this.clearTimer()
    if (this.pending === '') return
    const batch = this.pending
    this.pending = ''
    this.out.write(batch)
  }

  /** On close: writes what is pending and stops the timer. A line logged later still gets written, on exit at the latest. */
  close (): void {
    this.flushSync()
  }

  private clearTimer (): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
  }
}
