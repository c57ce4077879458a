import { Errors, businessCounter, maskPhone, publicError } from '@wxmp/core'
import { Contracts, WECHAT_PUSH_METHOD_HEADER, WECHAT_PUSH_QUERY_HEADER } from '@wxmp/contracts'
import { endpoint, type HandlerContext, type NatsClient } from '@wxmp/nats'
import type { AccountRights } from '../domain/account-rights.js'
import type { Passwords } from '../domain/passwords.js'
import type { PushReceiver } from '../domain/push-receiver.js'
import type { Sessions } from '../domain/sessions.js'
import type { SigningKeys } from '../domain/signing-keys.js'
import type { Totp } from '../domain/totp.js'
import type { WechatLogin } from '../domain/wechat-login.js'
import { AuthErrors } from '../errors.js'

export interface AuthDeps {
  rights: AccountRights
  /** Whether the caller's token shows a fresh credential sign-in (step-up 'credentials'). */
  freshCredentials: (ctx: HandlerContext) => boolean
  keys: SigningKeys
  sessions: Sessions
  wechatLogin: WechatLogin
  passwords: Passwords
  totp: Totp
  /** Calls the user service (user.get, user.create, user.setPhone). */
  nats: NatsClient
  phoneOf: (code: string) => Promise<{ phoneNumber: string }>
}

const logins = businessCounter('auth_logins_total', 'Login attempts by method and result (ok or the error code)', ['method', 'result'] as const)

/** Counts a login attempt by its outcome, then passes the outcome on. */
async function counted<T> (method: 'wechat' | 'password' | 'refresh', attempt: () => Promise<T>): Promise<T> {
  try {
    const result = await attempt()
    logins.inc({ method, result: 'ok' })
    return result
  } catch (err) {
    logins.inc({ method, result: publicError(err).body.code })
    throw err
  }
}

/** The verified caller; the gateway sets x-user-id and x-session-id only after checking the access token. */
export function caller (ctx: HandlerContext): { userId: string, sessionId: string } {
  const { userId, sessionId } = ctx.trace
  if (userId === undefined || sessionId === undefined) throw new Errors.Unauthenticated('Sign in first')
  return { userId, sessionId }
}

/** The auth service's NATS API. */
export function authEndpoints (d: AuthDeps) {
  return [
    endpoint(Contracts.auth.jwks, async () => d.keys.jwks()),
    endpoint(Contracts.auth.wechatLogin, async (input, ctx) => await counted('wechat', async () => await d.wechatLogin.login(input.code, ctx.trace, input.client))),
    endpoint(Contracts.auth.refresh, async (input) => await counted('refresh', async () => await d.sessions.refresh(input.refreshToken))),
    endpoint(Contracts.auth.logout, async (_input, ctx) => {
      const { userId, sessionId } = caller(ctx)
      return await d.sessions.revoke(userId, sessionId, 'logout')
    }),
    endpoint(Contracts.auth.logoutAll, async (input, ctx) => {
      const { userId } = caller(ctx)
      const removePassword = input.removePassword === true
      // Removing a credential is a credential change: a stolen short-lived token must not be enough.
      if (removePassword && !d.freshCredentials(ctx)) throw new AuthErrors.ReauthRequired()
      const reply = await d.rights.logoutAll(userId, removePassword)
      ctx.log.info({ userId, sessions: reply.revokedSessions, passwordRemoved: reply.passwordRemoved }, 'signed out everywhere')
      return reply
    }),
    endpoint(Contracts.auth.passwordRegister, async (input, ctx) => {
      // Signed in (WeChat): the password is bound to that user. Otherwise a new password-only user.
      const current = ctx.trace.userId
      const signedIn = current !== undefined && ctx.trace.sessionId !== undefined && await d.sessions.isLive(ctx.trace.sessionId)
      if (await d.passwords.usernameTaken(input.username)) throw new AuthErrors.UsernameTaken()
      const { data: user } = signedIn ? await d.nats.request(Contracts.user.get, { userId: current }, ctx.trace) : await d.nats.request(Contracts.user.create, {}, ctx.trace)
      await d.passwords.register(user.id, input.username, input.password)
      const { sessionId, ...tokens } = await d.sessions.open(user.id, 'password', input.client)
      ctx.log.info({ userId: user.id, sessionId, bound: signedIn }, 'password registered')
      return { ...tokens, user }
    }),
    endpoint(Contracts.auth.passwordLogin, async (input, ctx) => {
      const login: { username: string, password: string, totp?: string } = { username: input.username, password: input.password }
      if (input.totp !== undefined) login.totp = input.totp
      const userId = await counted('password', async () => {
        const id = await d.passwords.authenticate(login)
        await d.rights.assertEnabled(id)
        return id
      })
      const { data: user } = await d.nats.request(Contracts.user.get, { userId }, ctx.trace)
      const { sessionId, ...tokens } = await d.sessions.open(userId, 'password', input.client)
      ctx.log.info({ userId, sessionId }, 'password login')
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
