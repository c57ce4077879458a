import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TSchema } from '@sinclair/typebox'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { routeOf, type RouteId } from '../edge-routes.js'

export interface ForwardRoute {
  /** The route's key in the edge table, which gives its method and url. */
  route: RouteId
  /** The NATS subject that serves it. */
  subject: string
  summary: string
  tags: string[]
  body?: TSchema
  response: TSchema
  /** Status of a success, 200 unless the route creates something. */
  status?: number
  /** The NATS payload; defaults to the body (or `{}`). */
  payload?: (request: FastifyRequest) => unknown
}

/**
 * A public route that is one NATS request: the body (validated here and again by the service) goes to
 * the subject with the trace and the verified user (under the route's edge policy: timeout, span), and
 * the reply comes back as it is.
 */
export function forward (app: FastifyInstance, r: ForwardRoute): void {
  const status = r.status ?? 200
  app.withTypeProvider<TypeBoxTypeProvider>().route({
    ...routeOf(r.route),
    schema: {
      summary: r.summary,
      tags: r.tags,
      ...(r.body === undefined ? {} : { body: r.body }),
      response: { [status]: r.response }
    },
    handler: async (request, reply) => {
      const payload = r.payload?.(request) ?? request.body ?? {}
      const { data } = await request.callService(r.subject, payload)
      return await reply.code(status).send(data)
    }
  })
}
