import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import {
  BindPhoneRequest, BindPhoneResponse, Contracts, LoginResponse, LogoutAllRequest, LogoutAllResponse, LogoutResponse,
  PasswordLoginRequest, PasswordRegisterRequest, ReauthRequest, ReauthResponse, RefreshRequest, SessionIdParams, SessionList,
  Subjects, TokenPair, TotpEnrollResponse, TotpVerifyRequest, TotpVerifyResponse, WechatLoginRequest, type ClientInfo
} from '@wxmp/contracts'
import { routeOf } from '../edge-routes.js'
import { forward } from './forward.js'
import { revoking } from './revoking.js'

const tags = ['auth']

/** /v1/auth: WeChat login, token refresh and logout, password accounts, TOTP, phone binding. */
export default async function authRoutes (app: FastifyInstance): Promise<void> {
  forward(app, { route: 'POST /v1/auth/wechat/login', subject: Subjects.auth.wechatLogin, tags, summary: 'Exchange a wx.login code for tokens', body: WechatLoginRequest, response: LoginResponse, payload: withClient })
  forward(app, { route: 'POST /v1/auth/refresh', subject: Subjects.auth.refresh, tags, summary: 'Rotate the token pair; a reused refresh token ends the session', body: RefreshRequest, response: TokenPair })
  revoking(app, {
    route: 'POST /v1/auth/logout',
    schema: { summary: 'End this session', tags, response: { 200: LogoutResponse } },
    call: async (request) => (await request.callService(Contracts.auth.logout, {})).data,
    answer: (data) => ({ revokedSessions: data.revokedSessions })
  })
  revoking(app, {
    route: 'POST /v1/auth/logout-all',
    schema: {
      summary: 'End every session of the user; optionally remove the bound password too',
      description: 'No body (or `{}`) ends every session. `{"removePassword": true}` also removes the username and password bound to the account (and its TOTP), and needs a fresh sign-in (within STEP_UP_CREDENTIALS_S; POST /v1/auth/reauth gives one), else 401 AUTH_REAUTH_REQUIRED and nothing changes.',
      tags,
      response: { 200: LogoutAllResponse }
    },
    // No body schema: wx.request sends none for a plain logout-all; auth validates the body against LogoutAllRequest.
    call: async (request) => (await request.callService(Contracts.auth.logoutAll, (request.body ?? {}) as LogoutAllRequest)).data,
    answer: (data) => ({ revokedSessions: data.revokedSessions, passwordRemoved: data.passwordRemoved })
  })
  app.withTypeProvider<TypeBoxTypeProvider>().route({
    ...routeOf('GET /v1/auth/sessions'),
    schema: { summary: 'The signed-in user\'s live sessions: where and when each signed in, last refresh, which one is this', tags, response: { 200: SessionList } },
    handler: async (request) => (await request.callService(Contracts.auth.sessions, {})).data
  })
  revoking(app, {
    route: 'DELETE /v1/auth/sessions/:id',
    schema: { summary: 'End one of the user\'s sessions; its tokens are refused from this answer on', description: 'Another user\'s session, or an unknown id, is 404.', tags, params: SessionIdParams, response: { 200: LogoutResponse } },
    call: async (request) => (await request.callService(Contracts.auth.revokeSession, { sessionId: (request.params as SessionIdParams).id })).data,
    answer: (data) => ({ revokedSessions: data.revokedSessions })
  })
  forward(app, { route: 'POST /v1/auth/password/register', subject: Subjects.auth.passwordRegister, tags, summary: 'Create a username + password (bound to the signed-in user if any)', body: PasswordRegisterRequest, response: LoginResponse, status: 201, payload: withClient })
  forward(app, { route: 'POST /v1/auth/password/login', subject: Subjects.auth.passwordLogin, tags, summary: 'Sign in with username + password (+ TOTP once enrolled)', body: PasswordLoginRequest, response: LoginResponse, payload: withClient })
  forward(app, { route: 'POST /v1/auth/reauth', subject: Subjects.auth.reauth, tags, summary: 'Step-up: authenticate again (a fresh wx.login code, or the password and TOTP code) for a new access token with auth_time now', body: ReauthRequest, response: ReauthResponse })
  forward(app, { route: 'POST /v1/auth/mfa/totp/enroll', subject: Subjects.auth.totpEnroll, tags, summary: 'Start TOTP enrollment', response: TotpEnrollResponse, payload: () => ({}) })
  forward(app, { route: 'POST /v1/auth/mfa/totp/verify', subject: Subjects.auth.totpVerify, tags, summary: 'Confirm TOTP with a first code', body: TotpVerifyRequest, response: TotpVerifyResponse })
  forward(app, { route: 'POST /v1/auth/wechat/phone', subject: Subjects.auth.bindPhone, tags, summary: 'Bind the phone from a getPhoneNumber code', body: BindPhoneRequest, response: BindPhoneResponse })
}

const MAX_USER_AGENT = 512

/** A sign-in's body with the client this gateway saw (address and user agent), shown back in the session list. */
function withClient (request: FastifyRequest): unknown {
  const client: ClientInfo = { ip: request.ip.slice(0, 64) }
  const ua = request.headers['user-agent']
  if (typeof ua === 'string' && ua !== '') client.userAgent = ua.slice(0, MAX_USER_AGENT)
  return { ...(request.body as object), client }
}
