/**
 * Creates the first admin (or another one): `pnpm --filter @wxmp/auth admin:create --username <name> < password-file`.
 * No HTTP route can create an admin; this command runs with auth's own settings (the same environment as the
 * service: DATABASE_URL, NATS_URL, NATS_NKEY_SEED_FILE, ...) against a deployed auth database, reads the password from
 * standard input (one line), and makes a password account with the admin role. The admin then signs in with the
 * password, enrols TOTP, and signs in again with a code: only then do their tokens carry the admin role.
 */
import { parseArgs } from 'node:util'
import { text } from 'node:stream/consumers'
import pg from 'pg'
import { Contracts } from '@wxmp/contracts'
import { createLogger, loadConfig } from '@wxmp/core'
import { NatsClient, connectNats, inboxPrefix } from '@wxmp/nats'
import { Audit } from '../domain/audit.js'
import { Passwords } from '../domain/passwords.js'
import { ConfigSchema, type Config } from '../config.js'
import { AuthErrors } from '../errors.js'

export interface CreateAdminInput {
  username: string
  password: string
}

/** Creates the account; returns the new user's id. Throws AUTH_USERNAME_TAKEN, or a weak-password error, unchanged. */
export async function createAdmin (config: Config, input: CreateAdminInput): Promise<string> {
  const log = createLogger({ service: 'auth-admin-create', level: 'warn' })
  const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 2 })
  const { nc } = await connectNats({
    servers: config.NATS_URL,
    name: 'auth-admin-create',
    log,
    ...(config.NATS_NKEY_SEED_FILE === undefined || config.NATS_NKEY_SEED_FILE === '' ? {} : { nkeySeedFile: config.NATS_NKEY_SEED_FILE, inboxPrefix: inboxPrefix('auth', config.NATS_SUBJECT_PREFIX) }),
    ...(config.NATS_TLS_CA_FILE === undefined || config.NATS_TLS_CA_FILE === '' ? {} : { tlsCaFile: config.NATS_TLS_CA_FILE })
  })
  try {
    const audit = new Audit(pool)
    // Only registration is used: no lockout or TOTP check runs here.
    const passwords = new Passwords(pool, undefined as never, undefined as never, config.BCRYPT_COST, audit)
    Passwords.checkStrength(input.password)
    if (await passwords.usernameTaken(input.username)) throw new AuthErrors.UsernameTaken()
    const { data: user } = await new NatsClient(nc, config.NATS_SUBJECT_PREFIX, config.NATS_REQUEST_TIMEOUT_MS).request(Contracts.user.create, {}, undefined)
    await passwords.register(user.id, input.username, input.password, 'admin')
    await audit.record('staff_created', { userId: user.id, actorId: 'console', role: 'admin', username: input.username })
    return user.id
  } finally {
    await nc.close()
    await pool.end()
  }
}

async function main (): Promise<void> {
  const { values } = parseArgs({ options: { username: { type: 'string' } } })
  const username = values.username ?? ''
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$/.test(username)) {
    process.stderr.write('usage: pnpm --filter @wxmp/auth admin:create --username <name> < password-file\n')
    process.exit(2)
  }
  if (process.stdin.isTTY) process.stderr.write('password (one line, then Ctrl-D): ')
  const password = (await text(process.stdin)).split(/\r?\n/)[0] ?? ''
  try {
    const userId = await createAdmin(loadConfig(ConfigSchema, process.env), { username, password })
    process.stdout.write(`admin ${username} created (user ${userId}); sign in with the password, enrol TOTP, then sign in again with a code\n`)
  } catch (err) {
    process.stderr.write(`admin not created: ${(err as Error).message}\n`)
    process.exit(1)
  }
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) await main()
