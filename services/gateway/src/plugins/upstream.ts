import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { ReplyOf, RequestContract, RequestOf } from '@wxmp/contracts'
import type { Reply, RequestOptions } from '@wxmp/nats'
import type { Tracing } from '../telemetry.js'

/**
 * A NATS request on behalf of an HTTP request: its trace and verified identity go along, the route's configured
 * timeout applies, and a span covers it when tracing is exported.
 */
export interface CallService {
  /** The endpoint of a contract: the payload is checked against its request type, the reply has its reply type. */
  <C extends RequestContract>(contract: C, payload: RequestOf<C>, opts?: RequestOptions): Promise<Reply<ReplyOf<C>>>
  /** By subject name, for routes that forward a body as it is: the reply is untyped. */
  <T = unknown>(subject: string, payload: unknown, opts?: RequestOptions): Promise<Reply<T>>
}

declare module 'fastify' {
  interface FastifyRequest {
    callService: CallService
  }
}

export const upstream = fp(async function upstream (app: FastifyInstance, opts: { tracing?: Tracing }) {
  const { tracing } = opts
  const client = app.natsClient
  async function callService (this: FastifyRequest, target: string | RequestContract, payload: unknown, ro: RequestOptions = {}): Promise<Reply<unknown>> {
    const options = ro.timeoutMs === undefined ? { ...ro, timeoutMs: this.routeOptions.config.edge?.timeoutMs } : ro
    const subject = typeof target === 'string' ? target : target.subject
    // One branch per overload of NatsClient.request: a contract keeps its types, a subject name stays untyped.
    const send = async (trace: typeof this.trace, o: RequestOptions): Promise<Reply<unknown>> =>
      typeof target === 'string' ? await client.request(target, payload, trace, o) : await client.request(target, payload, trace, o)
    if (tracing === undefined) return await send(this.trace, options)
    return await tracing.natsSpan(this, subject, async (trace, headers) =>
      await send(trace, { ...options, headers: { ...options.headers, ...headers } }))
  }
  app.decorateRequest('callService', callService)
}, { name: 'wxmp-gateway-upstream', fastify: '5.x', dependencies: ['wxmp-nats'] })
