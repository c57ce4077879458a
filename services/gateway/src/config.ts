import { Type, type Static } from '@sinclair/typebox'
import { baseConfigProperties, redisConfigProperties, stepUpConfigProperties } from '@wxmp/core'

const ms = (def: number, description: string, minimum = 0): ReturnType<typeof Type.Integer> =>
  Type.Integer({ default: def, minimum, description })

/** Every setting of the gateway, read from the environment; see README.md for each variable. */
export const ConfigSchema = Type.Object({
  ...baseConfigProperties,
  ...redisConfigProperties,
  ...stepUpConfigProperties,
  REDIS_KEY_PREFIX: Type.String({ default: 'wxmp:gateway:', description: 'Prefix of the gateway\'s Redis keys (rate-limit counters).' }),
  HTTPS_PORT: Type.Integer({ default: 8443, minimum: 0, maximum: 65535, description: 'Public HTTPS listener.' }),
  HTTP_PORT: Type.Integer({ default: 8080, minimum: 0, maximum: 65535, description: 'Plain-HTTP listener: 301 to HTTPS, and /healthz for probes.' }),
  PORT: Type.Integer({ default: 9090, minimum: 0, maximum: 65535, description: 'Internal admin listener (/healthz, /readyz, /metrics); never public.' }),
  PUBLIC_HTTPS_PORT: Type.Integer({ default: 8443, minimum: 1, maximum: 65535, description: 'Port clients reach HTTPS on, used in redirects; 443 is left out of the URL.' }),
  TLS_CERT_FILE: Type.String({ minLength: 1, description: 'PEM certificate chain of the public listener.' }),
  TLS_KEY_FILE: Type.String({ minLength: 1, description: 'PEM private key of the public listener.' }),
  HTTP2: Type.Boolean({ default: false, description: 'Offer HTTP/2 over TLS (ALPN), HTTP/1.1 still accepted.' }),
  HSTS_MAX_AGE_S: Type.Integer({ default: 31536000, minimum: 0, description: 'Strict-Transport-Security max-age.' }),
  TRUST_PROXY: Type.String({
    default: '',
    pattern: '^[0-9A-Fa-f:./, ]*$',
    description: 'Comma-separated addresses/CIDRs of the load balancers whose X-Forwarded-For/-Proto are believed; empty trusts nobody.'
  }),
  BODY_LIMIT_BYTES: Type.Integer({ default: 65536, minimum: 1024, description: 'Largest accepted body where a route sets no smaller limit.' }),
  SHUTDOWN_DELAY_MS: ms(0, 'Time between failing readiness and closing listeners on SIGTERM.'),

  ROUTE_TIMEOUTS_MS: Type.String({
    default: '',
    pattern: '^(\\s*[A-Z]+ /[^=,]*=\\d+\\s*(,|$))*$',
    description: 'Per-route upstream timeouts overriding the defaults, e.g. `POST /v1/payments/orders=8000,GET /v1/users/me=2000`.'
  }),

  RATE_LIMIT_WINDOW_MS: ms(60000, 'Length of one rate-limit window.', 1000),
  RATE_LIMIT_DEFAULT_MAX: ms(300, 'Requests per window per client IP on any route.', 1),
  RATE_LIMIT_LOGIN_MAX: ms(10, 'Requests per window per client IP on the WeChat and password login/register routes.', 1),
  RATE_LIMIT_REFRESH_MAX: ms(30, 'Requests per window per client IP on token refresh.', 1),
  RATE_LIMIT_PHONE_MAX: ms(5, 'Requests per window per client IP on phone binding.', 1),
  RATE_LIMIT_NOTIFY_MAX: ms(600, 'Requests per window per source IP on the WeChat Pay notification route.', 1),
  RATE_LIMIT_PUSH_MAX: ms(600, 'Requests per window per source IP on the WeChat message push route.', 1),
  RATE_LIMIT_PROBE_MAX: ms(600, 'Requests per window per client IP on the public /readyz (the admin port\'s is not limited).', 1),
  RATE_LIMIT_USER_MAX: ms(120, 'Requests per window per authenticated user, on top of the per-IP limit.', 1),
  RATE_LIMIT_MAX_SCALE: Type.Number({ default: 1, minimum: 1, description: 'Multiplies every limit (benchmarks from one address); the limiter still counts every request.' }),

  JWKS_REFRESH_MS: ms(300000, 'How often the auth service\'s public keys are fetched again.', 1000),
  JWKS_RETRY_MS: ms(2000, 'Retry interval while no key could be fetched yet (auth not up).', 50),
  JWKS_MIN_REFETCH_MS: ms(10000, 'Least time between two fetches caused by tokens with an unknown kid.', 0),
  JWT_CLOCK_TOLERANCE_S: ms(5, 'Clock skew tolerated on exp/nbf.'),
  REVOCATION_CHECK_MS: ms(1000, 'How often the revocation view is compared with the bucket\'s last revision; a watch behind it at two checks in a row is recreated.', 50),
  REVOCATION_STALE_MS: ms(5000, 'How long the revocation view may go unconfirmed before signed-in requests answer 503 instead of trusting tokens.', 100),

  PRESSURE_MAX_EVENT_LOOP_DELAY_MS: ms(1000, 'Mean event-loop delay above which requests are shed with 503; 0 disables.'),
  PRESSURE_MAX_HEAP_USED_BYTES: ms(0, 'Heap use above which requests are shed with 503; 0 disables.'),
  PRESSURE_SAMPLE_INTERVAL_MS: ms(1000, 'How often event-loop delay and heap are sampled.', 10),
  PRESSURE_RETRY_AFTER_S: ms(5, 'Retry-After sent with a shed request.', 1),

  OTEL_EXPORTER_OTLP_ENDPOINT: Type.String({ default: '', pattern: '^(https?://.+)?$', description: 'OTLP/HTTP collector base URL (spans go to <url>/v1/traces); empty turns tracing export off.' })
})

export type Config = Static<typeof ConfigSchema>
