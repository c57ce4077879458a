import { Errors, assertRole, assertStepUp, businessCounter, maskPhone, publicError } from '@wxmp/core'
import { Contracts, WECHAT_PUSH_METHOD_HEADER, WECHAT_PUSH_QUERY_HEADER } from '@wxmp/contracts'
import { endpoint, type HandlerContext, type NatsClient } from '@wxmp/nats'
import type { Audit } from '../domain/audit.js'
import type { Passwords } from '../domain/passwords.js'
import type { PushReceiver } from '../domain/push-receiver.js'
import type { Sessions } from '../domain/sessions.js'
import type { SigningKeys } from '../domain/signing-keys.js'
import type { Totp } from '../domain/totp.js'
import type { WechatLogin } from '../domain/wechat-login.js'
import { AuthErrors } from '../errors.js'

export interface AuthDeps {
  keys: SigningKeys
  sessions: Sessions
  wechatLogin: WechatLogin
  passwords: Passwords
  totp: Totp
  /** Calls the user service (user.get, user.create, user.setPhone). */
  nats: NatsClient
  phoneOf: (code: string) => Promise<{ phoneNumber: string }>
  audit: Audit
  /** STEP_UP_MONEY_S: admins' staff management needs a TOTP sign-in this recent. */
  stepUpMoneyS: number
}

const logins = businessCounter('auth_logins_total', 'Login attempts by method and result (ok or the error code)', ['method', 'result'] as const)

/**
 * Counts a login attempt by its outcome, then passes the outcome on; a refused sign-in (not a refresh, not an
 * outage) is audited as login_failed with its error code.
 */
async function counted<T> (method: 'wechat' | 'password' | 'refresh', attempt: () => Promise<T>, audit?: Audit, username?: string): Promise<T> {
  try {
    const result = await attempt()
    logins.inc({ method, result: 'ok' })
    return result
  } catch (err) {
    const { statusCode, body } = publicError(err)
    logins.inc({ method, result: body.code })
    if (audit !== undefined && method !== 'refresh' && statusCode < 500) {
      await audit.record('login_failed', { method, reason: body.code, ...(username === undefined ? {} : { username }) }).catch(() => {})
    }
    throw err
  }
}

/** The verified caller; the gateway sets x-user-id and x-session-id only after checking the access token. */
function caller (ctx: HandlerContext): { userId: string, sessionId: string } {
  const { userId, sessionId } = ctx.trace
  if (userId === undefined || sessionId === undefined) throw new Errors.Unauthenticated('Sign in first')
  return { userId, sessionId }
}

/** The auth service's NATS API. */
export function authEndpoints (d: AuthDeps) {
  return [
    endpoint(Contracts.auth.jwks, async () => d.keys.jwks()),
    endpoint(Contracts.auth.wechatLogin, async (input, ctx) => await counted('wechat', async () => await d.wechatLogin.login(input.code, ctx.trace), d.audit)),
    endpoint(Contracts.auth.refresh, async (input) => await counted('refresh', async () => await d.sessions.refresh(input.refreshToken))),
    endpoint(Contracts.auth.logout, async (_input, ctx) => {
      const { userId, sessionId } = caller(ctx)
      return await d.sessions.revoke(userId, sessionId, 'logout', { action: 'logged_out', fields: { reason: 'logout' } }, ctx.trace)
    }),
    endpoint(Contracts.auth.logoutAll, async (_input, ctx) => {
      const { userId } = caller(ctx)
      const reply = await d.sessions.revokeAll(userId, 'logout_all', { action: 'logged_out', fields: { reason: 'logout_all' } }, ctx.trace)
      ctx.log.info({ userId, sessions: reply.revokedSessions }, 'signed out everywhere')
      return reply
    }),
    endpoint(Contracts.auth.passwordRegister, async (input, ctx) => {
      // Signed in (WeChat): the password is bound to that user. Otherwise a new password-only user.
      const current = ctx.trace.userId
      const signedIn = current !== undefined && ctx.trace.sessionId !== undefined && await d.sessions.isLive(ctx.trace.sessionId)
      if (await d.passwords.usernameTaken(input.username)) throw new AuthErrors.UsernameTaken()
      const { data: user } = signedIn ? await d.nats.request(Contracts.user.get, { userId: current }, ctx.trace) : await d.nats.request(Contracts.user.create, {}, ctx.trace)
      await d.passwords.register(user.id, input.username, input.password)
      const { sessionId, ...tokens } = await d.sessions.open(user.id, { method: 'password', role: 'buyer', amr: ['pwd'] }, ctx.trace)
      ctx.log.info({ userId: user.id, sessionId, bound: signedIn }, 'password registered')
      return { ...tokens, user }
    }),
    endpoint(Contracts.auth.passwordLogin, async (input, ctx) => {
      const login: { username: string, password: string, totp?: string } = { username: input.username, password: input.password }
      if (input.totp !== undefined) login.totp = input.totp
      const { userId, role, accountRole, amr } = await counted('password', async () => await d.passwords.authenticate(login), d.audit, input.username)
      const { data: user } = await d.nats.request(Contracts.user.get, { userId }, ctx.trace)
      // A staff or admin account acts as such only with a TOTP code: without one enrolled it gets a buyer session,
      // in which it can enrol one.
      const { sessionId, ...tokens } = await d.sessions.open(userId, { method: 'password', role, amr }, ctx.trace)
      ctx.log.info({ userId, sessionId, role, ...(role !== accountRole ? { accountRole } : {}) }, 'password login')
      return { ...tokens, user }
    }),
    endpoint(Contracts.auth.totpEnroll, async (_input, ctx) => {
      const { userId } = caller(ctx)
      return await d.totp.enroll(userId, (await d.passwords.usernameOf(userId)) ?? userId)
    }),
    endpoint(Contracts.auth.totpVerify, async (input, ctx) => {
      const { userId } = caller(ctx)
      if (!(await d.totp.check(userId, input.code))) throw new AuthErrors.MfaInvalid()
      return { enabled: true }
    }),
    endpoint(Contracts.auth.reauth, async (input, ctx) => {
      const { userId, sessionId } = caller(ctx)
      const method = 'code' in input ? 'wechat' : 'password'
      const amr = await counted(method, async () => {
        if ('code' in input) {
          if (!(await d.wechatLogin.confirm(input.code, userId, ctx.trace))) throw new AuthErrors.ReauthMismatch()
          return ['wechat' as const]
        }
        return await d.passwords.confirm(userId, input.password, input.totp)
      }, d.audit)
      const token = await d.sessions.reauthenticate(userId, sessionId, amr, ctx.trace)
      return { ...token, tokenType: 'Bearer' as const }
    }),
    endpoint(Contracts.auth.createStaff, async (input, ctx) => {
      // The gateway admits only a fresh admin; checked again here, since the bus trusts no sender's word alone.
      assertRole('admin', ctx.trace)
      assertStepUp('money', ctx.trace, d.stepUpMoneyS)
      if (await d.passwords.usernameTaken(input.username)) throw new AuthErrors.UsernameTaken()
      const { data: user } = await d.nats.request(Contracts.user.create, {}, ctx.trace)
      await d.passwords.register(user.id, input.username, input.password, input.role)
      await d.audit.record('staff_created', { userId: user.id, actorId: ctx.trace.userId, role: input.role, username: input.username }, { trace: ctx.trace })
      ctx.log.info({ userId: user.id, role: input.role, by: ctx.trace.userId }, 'staff account created')
      return { userId: user.id, username: input.username, role: input.role, totpEnabled: false }
    }),
    endpoint(Contracts.auth.setRole, async (input, ctx) => {
      assertRole('admin', ctx.trace)
      assertStepUp('money', ctx.trace, d.stepUpMoneyS)
      if (input.userId === ctx.trace.userId) throw new Errors.Conflict('An admin cannot change their own role; ask another admin')
      const username = await d.passwords.usernameOf(input.userId)
      if (username === undefined) throw new Errors.NotFound('No password account with this id')
      await d.passwords.setRole(input.userId, input.role)
      // The old role lives on in the user's tokens: every session ends, and the next login carries the new one.
      const { revocations, revokedSessions } = await d.sessions.revokeAll(input.userId, 'role_changed')
      await d.audit.record('role_changed', { userId: input.userId, actorId: ctx.trace.userId, role: input.role, sessions: revokedSessions }, { trace: ctx.trace })
      ctx.log.info({ userId: input.userId, role: input.role, by: ctx.trace.userId }, 'role changed')
      return { userId: input.userId, username, role: input.role, totpEnabled: await d.totp.isEnabled(input.userId), revocations }
    }),
    endpoint(Contracts.auth.bindPhone, async (input, ctx) => {
      const { userId } = caller(ctx)
      const { phoneNumber } = await d.phoneOf(input.code)
      await d.nats.request(Contracts.user.setPhone, { userId, phone: phoneNumber }, ctx.trace)
      return { phone: maskPhone(phoneNumber) }
    })
  ]
}

/** `auth.wechatPush`: the message push the gateway forwards untouched (query string and method in headers). */
export function pushEndpoint (receiver: PushReceiver) {
  return endpoint(Contracts.auth.wechatPush, async (raw, ctx) => {
    const method = ctx.headers?.get(WECHAT_PUSH_METHOD_HEADER) ?? 'POST'
    const search = ctx.headers?.get(WECHAT_PUSH_QUERY_HEADER) ?? ''
    return await receiver.receive(method, search, raw, ctx.trace, ctx.log)
  })
}
