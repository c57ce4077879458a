import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Contracts, PingResponse, SERVICES, type ServiceIdentity } from '@wxmp/contracts'
import { routeOf } from '../edge-routes.js'

/** GET /v1/ping: one request through every service over NATS, proving the path and the trace. */
export default async function pingRoutes (app: FastifyInstance, opts: { gateway: ServiceIdentity }): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().route({
    ...routeOf('GET /v1/ping'),
    schema: { tags: ['system'], summary: 'Round trip through every service', response: { 200: PingResponse } },
    handler: async (request) => {
      const ping = async (svc: typeof SERVICES[number]): Promise<ServiceIdentity> => (await request.callService(Contracts[svc].ping, {})).data
      const [auth, user, payment] = await Promise.all([ping('auth'), ping('user'), ping('payment')])
      return { gateway: opts.gateway, auth, user, payment }
    }
  })
}
