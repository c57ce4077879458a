import type { FastifyInstance } from 'fastify'
import { readyzAnswer } from '@wxmp/core'
import { routeOf } from '../edge-routes.js'

/**
 * GET /readyz on the public listener, for load balancers that probe the port they route to. Every call checks
 * Redis and NATS, so unlike the admin port's it is counted per client (limit class `probe`).
 */
export default async function readyzRoute (app: FastifyInstance): Promise<void> {
  app.route({
    ...routeOf('GET /readyz'),
    logLevel: 'warn',
    schema: { hide: true },
    handler: async (_request, reply) => {
      const { statusCode, body } = await readyzAnswer(app.readiness)
      return await reply.code(statusCode).send(body)
    }
  })
}
