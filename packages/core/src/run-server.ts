import { Worker } from 'node:worker_threads'
import type { FastifyInstance } from 'fastify'
import closeWithGrace from 'close-with-grace'
import { ConfigError } from './config.js'

// Plain JavaScript evaluated in the watchdog thread.
const WATCHDOG = `
const { workerData } = require('node:worker_threads')
setTimeout(() => { process.kill(workerData.pid, 'SIGKILL') }, workerData.ms)
`

/**
 * Kills this process `ms` from now from another thread, whatever the main thread is doing. The grace timer of
 * close-with-grace runs on the main thread, and exiting runs pino's final flush there too: with stdout a pipe
 * nobody reads any more (a log collector gone or stuck), that flush blocks in write(2), or retries EAGAIN for
 * ever, and the process would outlive its grace. The thread keeps nothing alive.
 */
export function armShutdownWatchdog (ms: number): void {
  const worker = new Worker(WATCHDOG, { eval: true, workerData: { pid: process.pid, ms }, stdout: true, stderr: true })
  worker.unref()
}

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
  // close-with-grace exits with 1 a little before the grace ends; the watchdog makes sure at the end of it.
  const margin = Math.min(1000, Math.floor(opts.graceMs / 10))
  const listeners = closeWithGrace({ delay: opts.graceMs - margin }, async ({ signal, err }) => {
    armShutdownWatchdog(opts.graceMs)
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
