import { errors } from '@nats-io/transport-node'
import { JetStreamApiError } from '@nats-io/jetstream'
import type { Log } from '@wxmp/core'

/**
 * JetStream API error codes a cluster gives while it is still forming or electing: `no suitable peers for placement`
 * (10005, fewer peers known than the replicas asked for) and `JetStream system temporarily unavailable` (10008).
 */
const SETTLING_CODES = new Set([10005, 10008])

/** Whether an error is one a starting or recovering JetStream cluster gives, and that the same call later may not. */
export function isJetStreamSettling (err: unknown): boolean {
  if (err instanceof JetStreamApiError) return SETTLING_CODES.has(err.code) || err.status === 503
  // A JetStream without a meta leader does not answer its API: the client reports it as not enabled.
  if (err instanceof Error && err.name === 'JetStreamNotEnabled') return true
  return err instanceof errors.TimeoutError || err instanceof errors.NoRespondersError
}

export interface SettlingOptions {
  log?: Log
  /** How long to keep trying before the last error is thrown (the process then fails to start, and is restarted). */
  timeoutMs?: number
}

/**
 * Runs a boot-time JetStream call (creating a stream, bucket or consumer) until it works, while the error is one a
 * settling cluster gives: nodes that start together with their clients (a rollout, a fresh cluster) answer `no
 * suitable peers` for a replicated stream until every peer has joined. Any other error is thrown at once.
 */
export async function whileJetStreamSettles<T> (what: string, fn: () => Promise<T>, opts: SettlingOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000)
  let delay = 200
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (err) {
      if (!isJetStreamSettling(err) || Date.now() + delay > deadline) throw err
      opts.log?.warn({ what, attempt, retryInMs: delay, err: { message: (err as Error).message } }, 'JetStream not ready; retrying')
      await new Promise((resolve) => setTimeout(resolve, delay))
      delay = Math.min(delay * 2, 2000)
    }
  }
}
