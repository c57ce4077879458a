import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type { Static, TObject } from '@sinclair/typebox'
import { boot, createFastify, loadConfig, runServer } from '@wxmp/core'

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
    const app = createFastify({ service: opts.name, level: config.LOG_LEVEL, pretty: config.LOG_PRETTY })
    // Unwrapped (as fastify-cli does), so the process sees the app's readiness and can fail it on SIGTERM.
    await app.register(fp(opts.app), { config })
    await runServer(app, { port: config.PORT, host: config.HOST, graceMs: config.SHUTDOWN_GRACE_MS, drainDelayMs: config.SHUTDOWN_DELAY_MS ?? 0 })
  })
}
