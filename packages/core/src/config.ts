import { envSchema } from 'env-schema'
import { Type, type Static, type TObject, type TProperties } from '@sinclair/typebox'

/** Raised when the environment does not satisfy a service's config schema; the message names each bad variable. */
export class ConfigError extends Error {
  readonly variables: string[]
  constructor (problems: Array<{ variable: string, problem: string }>) {
    super('Invalid configuration: ' + problems.map((p) => `${p.variable} ${p.problem}`).join('; '))
    this.name = 'ConfigError'
    this.variables = problems.map((p) => p.variable)
  }
}

interface AjvError { instancePath?: string, keyword?: string, message?: string, params?: Record<string, unknown> }

function describe (err: AjvError): { variable: string, problem: string } {
  if (err.keyword === 'required') {
    return { variable: String(err.params?.missingProperty), problem: 'is required' }
  }
  const variable = (err.instancePath ?? '').replace(/^\//, '') || '(root)'
  return { variable, problem: err.message ?? 'is invalid' }
}

/**
 * Loads config from the environment against a TypeBox schema: applies defaults, coerces types,
 * and throws a ConfigError naming every variable that is missing or malformed.
 */
export function loadConfig<T extends TObject> (schema: T, env: NodeJS.ProcessEnv = process.env): Static<T> {
  try {
    return envSchema<Static<T>>({ schema, data: env, dotenv: false })
  } catch (err) {
    const errors = (err as { errors?: AjvError[] }).errors
    if (Array.isArray(errors) && errors.length > 0) throw new ConfigError(errors.map(describe))
    throw err
  }
}

/** Settings every service shares: logging, NATS, the internal admin listener and shutdown. */
export const baseConfigProperties = {
  // Loopback by default, so a laptop on a shared network exposes nothing; deployments set 0.0.0.0 (infra/k8s does).
  HOST: Type.String({ default: '127.0.0.1', description: 'Interface of the internal admin listener (/healthz, /readyz, /metrics); 0.0.0.0 in a cluster.' }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
  LOG_PRETTY: Type.Boolean({ default: false, description: 'Human-readable logs through pino-pretty; for development terminals only.' }),
  NATS_URL: Type.String({ default: 'nats://127.0.0.1:4222', pattern: '^(nats|tls|ws|wss)://', description: 'Comma-separated NATS server URLs.' }),
  NATS_SUBJECT_PREFIX: Type.String({ default: '', pattern: '^([A-Za-z0-9_-]+\\.)?$', description: 'Prefix for every subject and stream name; isolates test runs.' }),
  NATS_REQUEST_TIMEOUT_MS: Type.Integer({ default: 5000, minimum: 10, description: 'Default timeout of a NATS request to another service.' }),
  NATS_NKEY_SEED_FILE: Type.String({ default: '', description: 'File with this process\'s NATS nkey seed (its identity in the permission matrix); required unless NATS_ALLOW_ANONYMOUS is true.' }),
  NATS_ALLOW_ANONYMOUS: Type.Boolean({ default: false, description: 'Development only: connect to NATS without credentials when NATS_NKEY_SEED_FILE is empty; otherwise the process refuses to start.' }),
  NATS_TLS_CA_FILE: Type.String({ default: '', description: 'CA of the NATS server\'s certificate; when set, the connection requires TLS and verifies the server.' }),
  NATS_JS_REPLICAS: Type.Integer({ default: 1, minimum: 1, maximum: 5, description: 'Replicas of every JetStream stream and KV bucket this process creates; one that has fewer is raised to it. 3 on a three-server cluster, 1 on a single server.' }),
  SHUTDOWN_GRACE_MS: Type.Integer({ default: 10000, minimum: 100, description: 'How long in-flight work may take to finish on SIGTERM.' }),
  ADMIN_TOKEN: Type.String({ default: '', pattern: '^(|\\S{16,})$', description: 'Bearer token for the admin port\'s /debug routes (profiles, heap snapshots, log level); empty turns them off.' }),
  ADMIN_TOKEN_FILE: Type.String({ default: '', description: 'File holding the admin token (a mounted Secret); the alternative to ADMIN_TOKEN.' })
} satisfies TProperties

export const databaseConfigProperties = {
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://', description: 'Postgres connection string of this service\'s own database.' }),
  DATABASE_POOL_MAX: Type.Integer({ default: 10, minimum: 1, maximum: 200, description: 'Maximum pooled connections per process.' }),
  DATABASE_CREATE: Type.Boolean({ default: false, description: 'Create the database if it does not exist (development).' }),
  DATABASE_MIGRATE: Type.Boolean({ default: true, description: 'Run pending migrations at boot. Production runs them in a Job and sets false.' })
} satisfies TProperties

export const redisConfigProperties = {
  REDIS_URL: Type.String({ default: 'redis://127.0.0.1:6379', pattern: '^rediss?://', description: 'Redis connection URL.' }),
  REDIS_KEY_PREFIX: Type.String({ default: 'wxmp:', description: 'Prefix of every Redis key this process writes.' })
} satisfies TProperties
