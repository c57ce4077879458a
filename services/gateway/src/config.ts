import { Type, type Static } from '@sinclair/typebox'
import { baseConfigProperties, redisConfigProperties } from '@wxmp/core'

/** Every setting of the gateway, read from the environment; see README.md for each variable. */
export const ConfigSchema = Type.Object({
  ...baseConfigProperties,
  ...redisConfigProperties,
  REDIS_KEY_PREFIX: Type.String({ default: 'wxmp:gateway:', description: 'Prefix of the gateway\'s Redis keys (rate-limit counters).' }),
  HTTPS_PORT: Type.Integer({ default: 8443, minimum: 0, maximum: 65535, description: 'Public HTTPS listener.' }),
  HTTP_PORT: Type.Integer({ default: 8080, minimum: 0, maximum: 65535, description: 'Plain-HTTP listener: 301 to HTTPS, and /healthz for probes.' }),
  PORT: Type.Integer({ default: 9090, minimum: 0, maximum: 65535, description: 'Internal admin listener (/healthz, /readyz, /metrics); never public.' }),
  PUBLIC_HTTPS_PORT: Type.Integer({ default: 8443, minimum: 1, maximum: 65535, description: 'Port clients reach HTTPS on, used in redirects; 443 is left out of the URL.' }),
  TLS_CERT_FILE: Type.String({ minLength: 1, description: 'PEM certificate chain of the public listener.' }),
  TLS_KEY_FILE: Type.String({ minLength: 1, description: 'PEM private key of the public listener.' }),
  BODY_LIMIT_BYTES: Type.Integer({ default: 65536, minimum: 1024, description: 'Largest accepted JSON body.' }),
  SHUTDOWN_DELAY_MS: Type.Integer({ default: 0, minimum: 0, description: 'Time between failing readiness and closing listeners on SIGTERM.' })
})

export type Config = Static<typeof ConfigSchema>
