import type { Static } from '@sinclair/typebox'
import { serviceConfigSchema } from '@wxmp/service'

/** Every setting of the auth service, read from the environment; see README.md for each variable. */
export const ConfigSchema = serviceConfigSchema({
  port: 9091,
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/wxmp_auth',
  redisKeyPrefix: 'wxmp:auth:'
}, {})

export type Config = Static<typeof ConfigSchema>
