import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import { routeOf } from '../edge-routes.js'

/**
 * The OpenAPI document of the public API, generated from the route schemas: every route
 * registered after this plugin appears, with its auth requirement set by the edge policy.
 * JSON only (`/docs`, `/docs/json`): the mini-program team generates a client from it.
 */
export const docs = fp(async function docs (app: FastifyInstance, opts: { version: string }) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'wxmp public API', version: opts.version, description: 'The HTTPS API a WeChat mini-program calls. Errors are `{"error": {"code", "message", "traceId"}}`.' },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearerAuth: [] }]
    }
  })
  const document = async (): Promise<unknown> => app.swagger()
  app.route({ ...routeOf('GET /docs'), schema: { hide: true }, handler: document })
  app.route({ ...routeOf('GET /docs/json'), schema: { hide: true }, handler: document })
}, { name: 'wxmp-gateway-docs', fastify: '5.x' })
