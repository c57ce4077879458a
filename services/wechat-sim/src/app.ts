import type { FastifyInstance } from 'fastify'
import { foundation } from '@wxmp/core'
import type { Config } from './config.js'
import { createSimContext } from './sim-context.js'
import miniProgramRoutes from './routes/mini-program.js'
import payRoutes from './routes/pay.js'
import testApiRoutes from './routes/test-api.js'
import shippingRoutes from './routes/shipping.js'
import shippingTestApiRoutes from './routes/shipping-test-api.js'
import { xpayRoutes, xpayTestApiRoutes } from './routes/xpay.js'

/**
 * The WeChat simulator: WeChat's mini-program server APIs (order shipping management and its message pushes
 * included) and WeChat Pay API v3 at their real paths, and the phone-side test API under /sim. State lives in
 * memory; each app instance is a fresh WeChat.
 */
export default async function app (fastify: FastifyInstance, opts: { config: Config }): Promise<void> {
  await fastify.register(foundation)
  const sim = createSimContext(opts.config, fastify.log)
  fastify.decorate('sim', sim)
  fastify.addHook('onClose', async () => { sim.close() })
  await fastify.register(miniProgramRoutes)
  await fastify.register(payRoutes)
  await fastify.register(shippingRoutes)
  await fastify.register(xpayRoutes)
  await fastify.register(testApiRoutes, { prefix: '/sim' })
  await fastify.register(shippingTestApiRoutes, { prefix: '/sim' })
  await fastify.register(xpayTestApiRoutes, { prefix: '/sim' })
}
