import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import { createLogger, type LoggerSettings } from './logger.js'
import { tracingServerOptions, requestContext } from './request-context.js'
import { errorEnvelope } from './error-handler.js'
import { health, type HealthOptions } from './health.js'

export interface CreateAppOptions extends LoggerSettings {
  /** Extra Fastify server options (https, bodyLimit, trustProxy...). */
  server?: FastifyServerOptions & Record<string, unknown>
}

/** A Fastify instance with the house logger and per-request trace context; register the app plugin on it. */
export function createFastify (opts: CreateAppOptions): FastifyInstance {
  const options = {
    // Unknown fields are refused, not silently dropped, so a client learns about a typo at once.
    ajv: { customOptions: { removeAdditional: false } },
    ...opts.server,
    loggerInstance: createLogger(opts) as FastifyBaseLogger,
    ...tracingServerOptions()
  }
  return Fastify(options as FastifyServerOptions) as unknown as FastifyInstance
}

/** What every service registers first: trace context, the error envelope, /healthz and /readyz. */
export const foundation = fp(async function foundation (app: FastifyInstance, opts: HealthOptions) {
  await app.register(requestContext)
  await app.register(errorEnvelope)
  await app.register(health, opts)
}, { name: 'wxmp-foundation', fastify: '5.x' })
