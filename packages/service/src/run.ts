import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type { Static, TObject } from '@sinclair/typebox'
import { BatchedDestination, boot, createFastify, loadConfig, runServer } from '@wxmp/core'

export interface RunServiceOptions<S extends TObject> {
  /** Short name used in logs and error lines. */
  name: string
  schema: S
  app: FastifyPluginAsync<{ config: Static<S> }>
}

/** A service process: load config (exit naming a bad variable), build the app, listen, shut down gracefully. */
export function runService<S extends TObject> (opts: RunServiceOptions<S>): void {
  boot(opts.name, async () => {
    const config = loadConfig(opts.schema) as Static<S> & { PORT: number, HOST: string, LOG_LEVEL: string, LOG_PRETTY: boolean, SHUTDOWN_GRACE_MS: number, SHUTDOWN_DELAY_MS?: number }
    // One write(2) per 8 KiB of log lines rather than per line (a line per message handled), as the gateway does;
    // pretty output (development) stays unbuffered.
    const stream = config.LOG_PRETTY ? undefined : new BatchedDestination({ minLength: 8192, maxDelayMs: 250 })
    const app = createFastify({ service: opts.name, level: config.LOG_LEVEL, pretty: config.LOG_PRETTY, ...(stream === undefined ? {} : { stream }) })
    // Unwrapped (as fastify-cli does), so the process sees the app's readiness and can fail it on SIGTERM.
    await app.register(fp(opts.app), { config })
    if (stream !== undefined) app.addHook('onClose', async () => { stream.close() })
    await runServer(app, { port: config.PORT, host: config.HOST, graceMs: config.SHUTDOWN_GRACE_MS, drainDelayMs: config.SHUTDOWN_DELAY_MS ?? 0 })
  })
}
