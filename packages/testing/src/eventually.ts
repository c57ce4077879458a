/** How long to keep polling and how often. */
export interface PollOptions {
  /** Give up after this many milliseconds (default 10 s: generous, so a busy machine only makes the test slower). */
  timeoutMs?: number
  /** Pause between reads (default 25 ms). */
  everyMs?: number
}

const pause = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Reads `read` until `done` holds or the deadline passes, and returns the last value read. For state that
 * asynchronous work reaches later (a notification recorded, an event relayed, a revocation propagated, a log line
 * written): the caller asserts on the returned value as before, so a timeout fails with what was actually there.
 */
export async function eventually<T> (read: () => T | Promise<T>, done: (value: T) => boolean, opts: PollOptions = {}): Promise<T> {
  const { timeoutMs = 10_000, everyMs = 25 } = opts
  const deadline = Date.now() + timeoutMs
  let value = await read()
  while (!done(value) && Date.now() < deadline) {
    await pause(everyMs)
    value = await read()
  }
  return value
}

/** Waits until `check` holds; throws naming `what` when the deadline passes first. */
export async function waitFor (check: () => boolean | Promise<boolean>, what = 'condition', opts: PollOptions = {}): Promise<void> {
  const { timeoutMs = 10_000 } = opts
  if (!await eventually(check, (ok) => ok, opts)) throw new Error(`${what}: not within ${timeoutMs} ms`)
}
