import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import {
  BindPhoneRequest, BindPhoneResponse, Contracts, ReauthRequest, ReauthResponse, LoginResponse, LogoutResponse, PasswordLoginRequest, PasswordRegisterRequest,
  RefreshRequest, Subjects, TokenPair, TotpEnrollResponse, TotpVerifyRequest, TotpVerifyResponse, WechatLoginRequest
} from '@wxmp/contracts'
import { routeOf, type RouteId } from '../edge-routes.js'
import { forward } from './forward.js'

const tags = ['auth']

/** /v1/auth: WeChat login, token refresh and logout, password accounts, TOTP, phone binding. */
export default async function authRoutes (app: FastifyInstance): Promise<void> {
  forward(app, { route: 'POST /v1/auth/wechat/login', subject: Subjects.auth.wechatLogin, tags, summary: 'Exchange a wx.login code for tokens', body: WechatLoginRequest, response: LoginResponse })
  forward(app, { route: 'POST /v1/auth/refresh', subject: Subjects.auth.refresh, tags, summary: 'Rotate the token pair; a reused refresh token ends the session', body: RefreshRequest, response: TokenPair })
  logout(app, 'POST /v1/auth/logout', Contracts.auth.logout, 'End this session')
  logout(app, 'POST /v1/auth/logout-all', Contracts.auth.logoutAll, 'End every session of the user')
  forward(app, { route: 'POST /v1/auth/password/register', subject: Subjects.auth.passwordRegister, tags, summary: 'Create a username + password (bound to the signed-in user if any)', body: PasswordRegisterRequest, response: LoginResponse, status: 201 })
  forward(app, { route: 'POST /v1/auth/password/login', subject: Subjects.auth.passwordLogin, tags, summary: 'Sign in with username + password (+ TOTP once enrolled)', body: PasswordLoginRequest, response: LoginResponse })
  forward(app, { route: 'POST /v1/auth/reauth', subject: Subjects.auth.reauth, tags, summary: 'Step-up: authenticate again (a fresh wx.login code, or the password and TOTP code) for a new access token with auth_time now', body: ReauthRequest, response: ReauthResponse })
  forward(app, { route: 'POST /v1/auth/mfa/totp/enroll', subject: Subjects.auth.totpEnroll, tags, summary: 'Start TOTP enrollment', response: TotpEnrollResponse, payload: () => ({}) })
  forward(app, { route: 'POST /v1/auth/mfa/totp/verify', subject: Subjects.auth.totpVerify, tags, summary: 'Confirm TOTP with a first code', body: TotpVerifyRequest, response: TotpVerifyResponse })
  forward(app, { route: 'POST /v1/auth/wechat/phone', subject: Subjects.auth.bindPhone, tags, summary: 'Bind the phone from a getPhoneNumber code', body: BindPhoneRequest, response: BindPhoneResponse })
}

/**
 * A logout: auth writes the revocations and answers with their KV revisions, and this gateway applies them before
 * it replies, so the token is refused here from the moment the client sees the answer (other gateways learn it
 * through their watch, whose lag their health check bounds).
 */
function logout (app: FastifyInstance, route: RouteId, contract: typeof Contracts.auth.logout | typeof Contracts.auth.logoutAll, summary: string): void {
  app.withTypeProvider<TypeBoxTypeProvider>().route({
    ...routeOf(route),
    schema: { summary, tags, response: { 200: LogoutResponse } },
    handler: async (request, reply) => {
      const { data } = await request.callService(contract, {})
      app.edgeAuth.revocations.apply(data.revocations)
      return await reply.code(200).send({ revokedSessions: data.revokedSessions })
    }
  })
}
