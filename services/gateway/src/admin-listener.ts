import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { admin, adminToken } from '@wxmp/core'
import type { Config } from './config.js'

/**
 * The gateway's internal admin listener (config PORT): `/metrics`, profiling and the runtime log level, plus
 * `/healthz` and `/readyz` for probes. It is a separate listener so none of it is reachable on the public
 * HTTPS port; a NetworkPolicy keeps it inside the cluster.
 */
export async function adminListener (gateway: FastifyInstance, logger: FastifyBaseLogger, config: Pick<Config, 'ADMIN_TOKEN' | 'ADMIN_TOKEN_FILE'>): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: logger, logController: new LogController({ disableRequestLogging: true }) }) as unknown as FastifyInstance
  const token = adminToken(config)
  await app.register(admin, { service: 'gateway', ...(token === undefined ? {} : { token }) })
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_request, reply) => {
    const { ready, checks } = await gateway.readiness.run()
    if (gateway.readiness.draining) return await reply.code(503).send({ status: 'draining', checks })
    return await reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', checks })
  })
  return app
}
