import { readFileSync } from 'node:fs'
import { boot, createFastify, loadConfig, runServer } from '@wxmp/core'
import app from './app.js'
import { ConfigSchema } from './config.js'
import { redirectApp } from './redirect.js'

boot('gateway', async () => {
  const config = loadConfig(ConfigSchema)
  const gateway = createFastify({
    service: 'gateway',
    level: config.LOG_LEVEL,
    pretty: config.LOG_PRETTY,
    server: {
      https: { cert: readFileSync(config.TLS_CERT_FILE), key: readFileSync(config.TLS_KEY_FILE), minVersion: 'TLSv1.2' },
      bodyLimit: config.BODY_LIMIT_BYTES
    }
  })
  await gateway.register(app, { config })
  const redirect = redirectApp({ httpsPort: config.PUBLIC_HTTPS_PORT, logger: gateway.log })
  gateway.addHook('onClose', async () => { await redirect.close() })
  await redirect.listen({ port: config.HTTP_PORT, host: config.HOST })
  await runServer(gateway, { port: config.HTTPS_PORT, host: config.HOST, graceMs: config.SHUTDOWN_GRACE_MS, drainDelayMs: config.SHUTDOWN_DELAY_MS })
})
