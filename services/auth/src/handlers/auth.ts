import { Errors, businessCounter, maskPhone, publicError, type TraceContext } from '@wxmp/core'
import {
  BindPhoneRequest, LogoutRequest, PasswordLoginRequest, PasswordRegisterRequest, PingRequest, RefreshRequest,
  Subjects, TotpVerifyRequest, WechatLoginRequest,
  type JwksResponse, type LoginResponse, type TokenPair, type UserProfile
} from '@wxmp/contracts'
import { endpoint, type HandlerContext } from '@wxmp/nats'
import type { Passwords } from '../domain/passwords.js'
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
  users: {
    get: (userId: string, trace: TraceContext) => Promise<UserProfile>
    create: (trace: TraceContext) => Promise<UserProfile>
    setPhone: (userId: string, phone: string, trace: TraceContext) => Promise<UserProfile>
  }
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
function caller (ctx: HandlerContext): { userId: string, sessionId: string } {
  const { userId, sessionId } = ctx.trace
  if (userId === undefined || sessionId === undefined) throw new Errors.Unauthenticated('Sign in first')
  return { userId, sessionId }
}

/** The auth service's NATS API. */
export function authEndpoints (d: AuthDeps) {
  return [
    endpoint({
      subject: Subjects.auth.jwks,
      input: PingRequest,
      handler: async (): Promise<JwksResponse> => d.keys.jwks()
    }),
    endpoint({
      subject: Subjects.auth.wechatLogin,
      input: WechatLoginRequest,
      handler: async (input, ctx): Promise<LoginResponse> => await counted('wechat', async () => await d.wechatLogin.login(input.code, ctx.trace))
    }),
    endpoint({
      subject: Subjects.auth.refresh,
      input: RefreshRequest,
      handler: async (input): Promise<TokenPair> => await counted('refresh', async () => await d.sessions.refresh(input.refreshToken))
    }),
    endpoint({
      subject: Subjects.auth.logout,
      input: LogoutRequest,
      handler: async (_input, ctx) => {
        const { userId, sessionId } = caller(ctx)
        return { revokedSessions: await d.sessions.revoke(userId, sessionId, 'logout') }
      }
    }),
    endpoint({
      subject: Subjects.auth.logoutAll,
      input: LogoutRequest,
      handler: async (_input, ctx) => {
        const { userId } = caller(ctx)
        const n = await d.sessions.revokeAll(userId, 'logout_all')
        ctx.log.info({ userId, sessions: n }, 'signed out everywhere')
        return { revokedSessions: n }
      }
    }),
    endpoint({
      subject: Subjects.auth.passwordRegister,
      input: PasswordRegisterRequest,
      handler: async (input, ctx): Promise<LoginResponse> => {
        // Signed in (WeChat): the password is bound to that user. Otherwise a new password-only user.
        const signedIn = ctx.trace.userId !== undefined && ctx.trace.sessionId !== undefined && await d.sessions.isLive(ctx.trace.sessionId)
        if (await d.passwords.usernameTaken(input.username)) throw new AuthErrors.UsernameTaken()
        const user = signedIn ? await d.users.get(ctx.trace.userId as string, ctx.trace) : await d.users.create(ctx.trace)
        await d.passwords.register(user.id, input.username, input.password)
        const { sessionId, ...tokens } = await d.sessions.open(user.id, 'password')
        ctx.log.info({ userId: user.id, sessionId, bound: signedIn }, 'password registered')
        return { ...tokens, user }
      }
    }),
    endpoint({
      subject: Subjects.auth.passwordLogin,
      input: PasswordLoginRequest,
      handler: async (input, ctx): Promise<LoginResponse> => {
        const login: { username: string, password: string, totp?: string } = { username: input.username, password: input.password }
        if (input.totp !== undefined) login.totp = input.totp
        const userId = await counted('password', async () => await d.passwords.authenticate(login))
        const user = await d.users.get(userId, ctx.trace)
        const { sessionId, ...tokens } = await d.sessions.open(userId, 'password')
        ctx.log.info({ userId, sessionId }, 'password login')
        return { ...tokens, user }
      }
    }),
    endpoint({
      subject: Subjects.auth.totpEnroll,
      input: LogoutRequest,
      handler: async (_input, ctx) => {
        const { userId } = caller(ctx)
        return await d.totp.enroll(userId, (await d.passwords.usernameOf(userId)) ?? userId)
      }
    }),
    endpoint({
      subject: Subjects.auth.totpVerify,
      input: TotpVerifyRequest,
      handler: async (input, ctx) => {
        const { userId } = caller(ctx)
        if (!(await d.totp.check(userId, input.code))) throw new AuthErrors.MfaInvalid()
        return { enabled: true }
      }
    }),
    endpoint({
      subject: Subjects.auth.bindPhone,
      input: BindPhoneRequest,
      handler: async (input, ctx) => {
        const { userId } = caller(ctx)
        const { phoneNumber } = await d.phoneOf(input.code)
        await d.users.setPhone(userId, phoneNumber, ctx.trace)
        return { phone: maskPhone(phoneNumber) }
      }
    })
  ]
}
