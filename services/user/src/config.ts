import { Type, type Static } from '@sinclair/typebox'
import { serviceConfigSchema } from '@wxmp/service'

/** Every setting of the user service, read from the environment; see README.md for each variable. */
export const ConfigSchema = serviceConfigSchema({
  port: 9092,
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/wxmp_user',
  redisKeyPrefix: 'wxmp:user:'
}, {
  USER_PROFILE_CACHE_MAX: Type.Integer({ default: 20_000, minimum: 0, description: 'Most profiles a replica keeps in memory for user.me and returning logins (0: none).' }),
  USER_PROFILE_CACHE_TTL_S: Type.Integer({ default: 60, minimum: 1, maximum: 3600, description: 'Longest a cached profile is served before Postgres is read again.' })
})

export type Config = Static<typeof ConfigSchema>
