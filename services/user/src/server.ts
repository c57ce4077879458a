import { runService } from '@wxmp/service'
import app from './app.js'
import { ConfigSchema } from './config.js'

runService({ name: 'user', schema: ConfigSchema, app })
