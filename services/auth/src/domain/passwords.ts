import { hash, verify } from '@node-rs/bcrypt'
import type { Pool } from 'pg'
import { AuthErrors } from '../errors.js'
import type { Lockout } from './lockout.js'
import type { Totp } from './totp.js'
import { usernameKey } from './username-key.js'

/** bcrypt reads at most 72 bytes; longer passwords are refused rather than silently truncated. */
export const BCRYPT_MAX_BYTES = 72

/** NFC, so the same password typed on two keyboards hashes the same. */
const normalize = (password: string): string => password.normalize('NFC')

export interface PasswordLogin {
  username: string
  password: string
  totp?: string
}

/**
 * Username + password accounts with bcrypt (cost from config, 12 in production; @node-rs/bcrypt hashes on
 * the libuv thread pool, off the event loop). Unknown usernames are checked against a dummy hash so that
 * they take as long and answer the same as a wrong password.
 */
export class Passwords {
  private dummyHash?: Promise<string>

  constructor (
    private readonly pool: Pool,
    private readonly lockout: Lockout,
    private readonly totp: Totp,
    private readonly cost: number
  ) {}

  private dummy (): Promise<string> {
    this.dummyHash ??= hash('dummy password for unknown users', this.cost)
    return this.dummyHash
  }

  static checkStrength (password: string): void {
    const p = normalize(password)
    if (Buffer.byteLength(p, 'utf8') > BCRYPT_MAX_BYTES) throw new AuthErrors.PasswordTooLong()
    if ([...p].length < 10) throw new AuthErrors.PasswordTooWeak('Password must be at least 10 characters')
    if (new Set(p).size < 4) throw new AuthErrors.PasswordTooWeak('Password must not repeat a few characters')
  }

  /** Stores a credential for userId; the username is unique by its usernameKey (any case, width or composition). */
  async register (userId: string, username: string, password: string): Promise<void> {
    Passwords.checkStrength(password)
    const passwordHash = await hash(normalize(password), this.cost)
    try {
      await this.pool.query('INSERT INTO password_credentials (user_id, username, username_key, password_hash) VALUES ($1, $2, $3, $4)', [userId, username, usernameKey(username), passwordHash])
    } catch (err) {
      const e = err as { code?: string, constraint?: string }
      if (e.code === '23505' && e.constraint === 'password_credentials_pkey') throw new AuthErrors.PasswordExists()
      if (e.code === '23505') throw new AuthErrors.UsernameTaken()
      throw err
    }
  }

  async usernameTaken (username: string): Promise<boolean> {
    const { rows } = await this.pool.query('SELECT 1 FROM password_credentials WHERE username_key = $1', [usernameKey(username)])
    return rows.length > 0
  }

  /** Returns the user id when the password (and the TOTP code, once enrolled) is right. */
  async authenticate (login: PasswordLogin): Promise<string> {
    await this.lockout.assertOpen(login.username)
    const { rows } = await this.pool.query<{ user_id: string, password_hash: string }>(
      'SELECT user_id, password_hash FROM password_credentials WHERE username_key = $1', [usernameKey(login.username)])
    const row = rows[0]
    const password = normalize(login.password)
    const fits = Buffer.byteLength(password, 'utf8') <= BCRYPT_MAX_BYTES
    // Always one bcrypt verification, whatever the case, so timing does not tell which case it was.
    const ok = await verify(fits ? password : '', row?.password_hash ?? await this.dummy())
    if (row === undefined || !ok || !fits) {
      await this.lockout.failed(login.username)
      throw new AuthErrors.InvalidCredentials()
    }
    if (await this.totp.isEnabled(row.user_id)) {
      if (login.totp === undefined) throw new AuthErrors.MfaRequired()
      if (!(await this.totp.check(row.user_id, login.totp))) {
        await this.lockout.failed(login.username)
        throw new AuthErrors.MfaInvalid()
      }
    }
    await this.lockout.succeeded(login.username)
    return row.user_id
  }

  /** The username of a user, for labelling their authenticator entry. */
  async usernameOf (userId: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ username: string }>('SELECT username FROM password_credentials WHERE user_id = $1', [userId])
    return rows[0]?.username
  }
}
