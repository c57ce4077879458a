import type { FastifyInstance } from 'fastify'
import closeWithGrace from 'close-with-grace'
import { ConfigError } from './config.js'

export interface RunOptions {
  port: number
  host: string
  /** How long in-flight work may take after SIGTERM before the process exits anyway. */
  graceMs: number
  /** Time between failing readiness and closing the listener, so load balancers stop routing first. */
  drainDelayMs?: number
}

/**
 * Starts a built app and stops it gracefully: on SIGTERM/SIGINT readiness fails first, then the
 * listener stops accepting, in-flight requests finish, NATS drains and pools close.
 */
export async function runServer (app: FastifyInstance, opts: RunOptions): Promise<void> {
  const listeners = closeWithGrace({ delay: opts.graceMs }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'fatal error, shutting down')
    else app.log.info({ signal }, 'shutting down')
    if (app.hasDecorator('readiness')) app.readiness.draining = true
    if ((opts.drainDelayMs ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, opts.drainDelayMs))
    await app.close()
  })
  app.addHook('onClose', async () => { listeners.uninstall() })
  await app.listen({ port: opts.port, host: opts.host })
}

/** Runs a process entry point; a bad config or an unreachable dependency prints one line and exits 1. */
export function boot (service: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    const message = err instanceof ConfigError
      ? err.message
      : `failed to start: ${describeStartupError(err)}`
    process.stderr.write(`${service}: ${message}\n`)
    process.exit(1)
  })
}

function describeStartupError (err: unknown): string {
  const e = err as { code?: string, message?: string, address?: string, port?: number }
  if (e.code === 'ECONNREFUSED') return `connection refused at ${e.address ?? '?'}:${e.port ?? '?'} (is the dependency running?)`
  return e.message ?? String(err)
}
