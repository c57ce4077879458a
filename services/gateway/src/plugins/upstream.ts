import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Reply, RequestOptions } from '@wxmp/nats'
import type { Tracing } from '../telemetry.js'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * A NATS request on behalf of this HTTP request: its trace and verified identity go along,
     * the route's configured timeout applies, and a span covers it when tracing is exported.
     */
    callService: <T = unknown>(subject: string, payload: unknown, opts?: RequestOptions) => Promise<Reply<T>>
  }
}

export const upstream = fp(async function upstream (app: FastifyInstance, opts: { tracing?: Tracing }) {
  const { tracing } = opts
  const client = app.natsClient
  app.decorateRequest('callService', async function callService<T> (this: FastifyRequest, subject: string, payload: unknown, ro: RequestOptions = {}): Promise<Reply<T>> {
    const options = ro.timeoutMs === undefined ? { ...ro, timeoutMs: this.routeOptions.config.edge?.timeoutMs } : ro
    if (tracing === undefined) return await client.request<T>(subject, payload, this.trace, options)
    return await tracing.natsSpan(this, subject, async (trace, headers) =>
      await client.request<T>(subject, payload, trace, { ...options, headers: { ...options.headers, ...headers } }))
  })
}, { name: 'wxmp-gateway-upstream', fastify: '5.x', dependencies: ['wxmp-nats'] })
