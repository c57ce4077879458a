import { Type, type TProperties } from '@sinclair/typebox'
import { baseConfigProperties, databaseConfigProperties, redisConfigProperties } from '@wxmp/core'

export interface ServiceConfigDefaults {
  /** Port of the internal admin listener. */
  port: number
  /** Default DATABASE_URL (the service's own database on the local Postgres). */
  databaseUrl: string
  /** Default Redis key prefix; omit for a service that does not use Redis. */
  redisKeyPrefix?: string
}

/** The config schema of a backend service: the shared settings plus this service's defaults and extras. */
export function serviceConfigSchema<P extends TProperties> (d: ServiceConfigDefaults, extra: P) {
  return Type.Object({
    ...baseConfigProperties,
    PORT: Type.Integer({ default: d.port, minimum: 0, maximum: 65535, description: 'Port of the internal admin listener.' }),
    ...databaseConfigProperties,
    DATABASE_URL: Type.String({ ...databaseConfigProperties.DATABASE_URL, default: d.databaseUrl }),
    ...redisConfigProperties,
    REDIS_KEY_PREFIX: Type.String({ ...redisConfigProperties.REDIS_KEY_PREFIX, default: d.redisKeyPrefix ?? 'wxmp:' }),
    ...extra
  })
}

/** The settings serviceBase reads, whatever else a service adds. */
export interface ServiceBaseConfig {
  PORT: number
  HOST: string
  LOG_LEVEL: string
  LOG_PRETTY: boolean
  NATS_URL: string
  NATS_SUBJECT_PREFIX: string
  NATS_REQUEST_TIMEOUT_MS: number
  NATS_NKEY_SEED_FILE: string
  NATS_ALLOW_ANONYMOUS: boolean
  NATS_TLS_CA_FILE: string
  NATS_JS_REPLICAS: number
  SHUTDOWN_GRACE_MS: number
  ADMIN_TOKEN: string
  ADMIN_TOKEN_FILE: string
  DATABASE_URL: string
  DATABASE_POOL_MAX: number
  DATABASE_CREATE: boolean
  DATABASE_MIGRATE: boolean
  REDIS_URL: string
  REDIS_KEY_PREFIX: string
}
