import fp from 'fastify-plugin'
import { boot, createFastify, loadConfig, runServer } from '@wxmp/core'
import app, { SERVICE } from './app.js'
import { ConfigSchema } from './config.js'
import { redirectApp } from './redirect.js'
import { adminListener } from './admin-listener.js'
import { logDestination, publicServerOptions } from './server-options.js'

boot('gateway', async () => {
  const config = loadConfig(ConfigSchema)
  // OpenTelemetry is loaded only when spans are exported: without an endpoint it costs nothing, not even the import.
  const tracing = config.OTEL_EXPORTER_OTLP_ENDPOINT === ''
    ? undefined
    : (await import('./telemetry.js')).createTracing({ endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: 'gateway', serviceVersion: SERVICE.version })
  const stream = logDestination(config)
  const gateway = createFastify({ service: 'gateway', level: config.LOG_LEVEL, pretty: config.LOG_PRETTY, ...(stream === undefined ? {} : { stream }), server: publicServerOptions(config) })
  // Unwrapped so the root sees `readiness`: runServer fails it first on SIGTERM, the admin listener reports it.
  await gateway.register(fp(app), tracing === undefined ? { config } : { config, tracing })
  const redirect = redirectApp({ httpsPort: config.PUBLIC_HTTPS_PORT, logger: gateway.log })
  gateway.addHook('onClose', async () => {
    await redirect.close()
    await tracing?.shutdown()
    stream?.close()
  })
  const adminApp = await adminListener(gateway, gateway.log, config)
  gateway.addHook('onClose', async () => { await adminApp.close() })
  await adminApp.listen({ port: config.PORT, host: config.HOST })
  await redirect.listen({ port: config.HTTP_PORT, host: config.HOST })
  await runServer(gateway, { port: config.HTTPS_PORT, host: config.HOST, graceMs: config.SHUTDOWN_GRACE_MS, drainDelayMs: config.SHUTDOWN_DELAY_MS })
})
