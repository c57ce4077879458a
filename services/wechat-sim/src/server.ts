import { boot, createFastify, loadConfig, runServer } from '@wxmp/core'
import app from './app.js'
import { ConfigSchema } from './config.js'

boot('wechat-sim', async () => {
  const config = loadConfig(ConfigSchema)
  const server = createFastify({ service: 'wechat-sim', level: config.LOG_LEVEL, pretty: config.LOG_PRETTY })
  await server.register(app, { config })
  await runServer(server, { port: config.PORT, host: config.HOST, graceMs: config.SHUTDOWN_GRACE_MS })
})
