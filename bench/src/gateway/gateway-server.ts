import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createFastify, loadConfig } from '@wxmp/core'
import gatewayApp from '@wxmp/gateway/app'
import { ConfigSchema } from '@wxmp/gateway/config'
import { EDGE_ROUTES } from '@wxmp/gateway/edge-routes'
import { logDestination, publicServerOptions } from '@wxmp/gateway/server-options'

/**
 * The real gateway app with two routes added for measurement: the bare NATS echo (public: the full
 * edge path minus token and user work) and the stand-in of an authenticated service route.
 */
async function benchRoutes (app: FastifyInstance): Promise<void> {
  app.get('/v1/bench/echo', async (request) => (await request.callService('bench.echo', {})).data)
  app.get('/v1/bench/me', async (request) => (await request.callService('bench.me', {})).data)
}

const config = loadConfig(ConfigSchema)
const stream = logDestination(config)
const app = createFastify({ service: 'gateway', level: config.LOG_LEVEL, ...(stream === undefined ? {} : { stream }), server: publicServerOptions(config) })
await app.register(fp(gatewayApp), { config, edgeRoutes: { ...EDGE_ROUTES, 'GET /v1/bench/echo': { auth: 'public', limit: 'default' }, 'GET /v1/bench/me': { auth: 'required', limit: 'default' } }, routes: [benchRoutes] })
await app.listen({ port: config.HTTPS_PORT, host: '127.0.0.1' })
// Readiness: keys fetched and revocations loaded, so the first measured request is judged like any other.
while (!app.edgeAuth.keyring.ready || !app.edgeAuth.revocations.ready) await new Promise((resolve) => setTimeout(resolve, 50))
process.stderr.write('ready\n')
process.on('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
