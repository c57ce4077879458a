import { hash, verify } from '@node-rs/bcrypt'
import type { Pool } from 'pg'
import type { AuthMethod, Role } from '@wxmp/contracts'
import { AuthErrors } from '../errors.js'
import type { Audit } from './audit.js'
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

/** Who signed in, the role their session gets, and the factors they used. */
export interface PasswordAuthentication {
  userId: string
  /** The account's role when a TOTP code was part of the login; a buyer otherwise (staff act only with TOTP). */
  role: Role
  /** The account's stored role, whatever this login gets. */
  accountRole: Role
  amr: AuthMethod[]
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
    private readonly cost: number,
    private readonly audit: Audit
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
  async register (userId: string, username: string, password: string, role: Role = 'buyer'): Promise<void> {
    Passwords.checkStrength(password)
    const passwordHash = await hash(normalize(password), this.cost)
    try {
      await this.pool.query('INSERT INTO password_credentials (user_id, username, username_key, password_hash, role) VALUES ($1, $2, $3, $4, $5)', [userId, username, usernameKey(username), passwordHash, role])
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

  /** Who signed in, when the password (and the TOTP code, once enrolled) is right. */
  async authenticate (login: PasswordLogin): Promise<PasswordAuthentication> {
    await this.lockout.assertOpen(login.username)
    const { rows } = await this.pool.query<{ user_id: string, password_hash: string, role: Role }>(
      'SELECT user_id, password_hash, role FROM password_credentials WHERE username_key = $1', [usernameKey(login.username)])
    const row = rows[0]
    const password = normalize(login.password)
    const fits = Buffer.byteLength(password, 'utf8') <= BCRYPT_MAX_BYTES
    // Always one bcrypt verification, whatever the case, so timing does not tell which case it was.
    const ok = await verify(fits ? password : '', row?.password_hash ?? await this.dummy())
    if (row === undefined || !ok || !fits) {
      await this.failed(login.username, row?.user_id)
      throw new AuthErrors.InvalidCredentials()
    }
    const otp = await this.totp.isEnabled(row.user_id)
    if (otp) {
      if (login.totp === undefined) throw new AuthErrors.MfaRequired()
      if (!(await this.totp.check(row.user_id, login.totp))) {
        await this.failed(login.username, row.user_id)
        throw new AuthErrors.MfaInvalid()
      }
    }
    await this.lockout.succeeded(login.username)
    return { userId: row.user_id, role: otp ? row.role : 'buyer', accountRole: row.role, amr: otp ? ['pwd', 'otp'] : ['pwd'] }
  }

  /**
   * The password (and TOTP code, once enrolled) of a signed-in user, for a step-up: the same checks and lockout as a
   * login, against the caller's own account.
   */
  async confirm (userId: string, password: string, totp: string | undefined): Promise<AuthMethod[]> {
    const username = await this.usernameOf(userId)
    if (username === undefined) throw new AuthErrors.InvalidCredentials()
    const login: PasswordLogin = { username, password }
    if (totp !== undefined) login.totp = totp
    const { userId: found, amr } = await this.authenticate(login)
    if (found !== userId) throw new AuthErrors.InvalidCredentials()
    return amr
  }

  /** The stored role of a password account, undefined when the user has none. */
  async roleOf (userId: string): Promise<Role | undefined> {
    const { rows } = await this.pool.query<{ role: Role }>('SELECT role FROM password_credentials WHERE user_id = $1', [userId])
    return rows[0]?.role
  }

  /** Changes an account's stored role; false when the user has no password account. */
  async setRole (userId: string, role: Role, client?: { query: Pool['query'] }): Promise<boolean> {
    const { rowCount } = await (client ?? this.pool).query('UPDATE password_credentials SET role = $2, updated_at = now() WHERE user_id = $1', [userId, role])
    return rowCount === 1
  }

  private async failed (username: string, userId: string | undefined): Promise<void> {
    if (await this.lockout.failed(username)) await this.audit.record('locked_out', { username, userId })
  }

  /** The username of a user, for labelling their authenticator entry. */
  async usernameOf (userId: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ username: string }>('SELECT username FROM password_credentials WHERE user_id = $1', [userId])
    return rows[0]?.username
  }
}
