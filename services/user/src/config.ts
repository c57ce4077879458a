import type { Static } from '@sinclair/typebox'
import { serviceConfigSchema } from '@wxmp/service'

/** Every setting of the user service, read from the environment; see README.md for each variable. */
export const ConfigSchema = serviceConfigSchema({
  port: 9092,
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/wxmp_user',
  redisKeyPrefix: 'wxmp:user:'
}, {})

export type Config = Static<typeof ConfigSchema>
