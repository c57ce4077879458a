import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { PingResponse, SERVICES, Subjects, type ServiceIdentity } from '@wxmp/contracts'
import { routeOf } from '../edge-routes.js'

/** GET /v1/ping: one request through every service over NATS, proving the path and the trace. */
export default async function pingRoutes (app: FastifyInstance, opts: { gateway: ServiceIdentity }): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().route({
    ...routeOf('GET /v1/ping'),
    schema: { tags: ['system'], summary: 'Round trip through every service', response: { 200: PingResponse } },
    handler: async (request) => {
      const replies = await Promise.all(SERVICES.map(async (svc) =>
        (await request.callService<ServiceIdentity>(Subjects[svc].ping, {})).data))
      const [auth, user, payment] = replies as [ServiceIdentity, ServiceIdentity, ServiceIdentity]
      return { gateway: opts.gateway, auth, user, payment }
    }
  })
}
