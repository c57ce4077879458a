import type { FastifyInstance, FastifyRequest, FastifySchema } from 'fastify'
import type { AppliedRevocation } from '@wxmp/contracts'
import { routeOf, type RouteId } from '../edge-routes.js'

export interface RevokingRoute<R extends { revocations: AppliedRevocation[] }> {
  route: RouteId
  schema: FastifySchema
  /** The NATS request to the service that ends the sessions; its reply carries the revocations' KV revisions. */
  call: (request: FastifyRequest) => Promise<R>
  /** The public answer, without the revocations. */
  answer: (data: R) => unknown
}

/**
 * A route that ends sessions (logout, logout-all, ending one session, disabling a user, deleting an account): the
 * service writes the revocations and answers with their KV revisions, and this gateway applies them before it
 * replies, so the tokens are refused here from the moment the client sees the answer (other gateways learn it
 * through their watch, whose lag their health check bounds).
 */
export function revoking<R extends { revocations: AppliedRevocation[] }> (app: FastifyInstance, r: RevokingRoute<R>): void {
  app.route({
    ...routeOf(r.route),
    schema: r.schema,
    handler: async (request, reply) => {
      const data = await r.call(request)
      app.edgeAuth.revocations.apply(data.revocations)
      return await reply.code(200).send(r.answer(data))
    }
  })
}
