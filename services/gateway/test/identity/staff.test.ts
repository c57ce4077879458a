import t from 'tap'
import { decodeJwt } from 'jose'
import { generate } from 'otplib'
import { authAuditSubject } from '@wxmp/contracts'
import { connectOperator, readEvents } from '@wxmp/service/testing'
import { createAdmin } from '@wxmp/auth/cli/create-admin'
import { call } from '../helpers/client.js'
import { buildWechatStack, type WechatStack } from './wechat-stack.js'

const post = (body: unknown, token?: string, method = 'POST') => ({
  method,
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }
})

/** Signs in with the password; with the TOTP secret, a code from the next unused time step. */
async function passwordLogin (s: WechatStack, username: string, password: string, secret?: string, step = 0): Promise<{ status: number, body: any }> {
  const body: Record<string, string> = { username, password }
  if (secret !== undefined) body.totp = await generate({ secret, epoch: Math.floor(Date.now() / 1000) + step * 30 })
  const res = await call(`${s.url}/v1/auth/password/login`, post(body))
  return { status: res.status, body: res.json() }
}

/** Enrols TOTP on a fresh session and confirms it: the secret. */
async function enrolTotp (s: WechatStack, token: string): Promise<string> {
  const enrolled = await call(`${s.url}/v1/auth/mfa/totp/enroll`, post({}, token))
  if (enrolled.status !== 200) throw new Error(`enroll: ${enrolled.status} ${enrolled.body}`)
  const { secret } = enrolled.json()
  const verified = await call(`${s.url}/v1/auth/mfa/totp/verify`, post({ code: await generate({ secret }) }, token))
  if (verified.status !== 200) throw new Error(`verify: ${verified.status} ${verified.body}`)
  return secret
}

t.test('staff: the first admin comes from the console, acts only with TOTP, and creates staff who need TOTP too', async (t) => {
  const s = await buildWechatStack(t)
  const stream = await connectOperator(t, s.prefix)
  const password = 'admin correct horse'
  const adminId = await createAdmin(s.auth.config, { username: 'root-admin', password })
  t.match(adminId, /^[0-9a-f-]{36}$/, 'the console command made the account')
  await t.rejects(createAdmin(s.auth.config, { username: 'ROOT-admin', password }), { code: 'AUTH_USERNAME_TAKEN' }, 'a taken name is refused')

  // Without TOTP an admin account gets a buyer's token: it can enrol, nothing more.
  const first = await passwordLogin(s, 'root-admin', password)
  t.equal(first.status, 200)
  t.equal(decodeJwt(first.body.accessToken).role, undefined, 'no role claim: a buyer')
  const refused = await call(`${s.url}/v1/admin/staff`, post({ username: 'clerk', password: 'clerk correct horse', role: 'staff' }, first.body.accessToken))
  t.equal(refused.status, 403, 'an admin without TOTP cannot create staff')
  t.equal(refused.json().error.code, 'FORBIDDEN')

  const secret = await enrolTotp(s, first.body.accessToken)
  t.equal((await passwordLogin(s, 'root-admin', password)).body.error.code, 'AUTH_MFA_REQUIRED', 'once enrolled, the code is required')
  const admin = await passwordLogin(s, 'root-admin', password, secret, 1)
  t.equal(admin.status, 200, JSON.stringify(admin.body))
  const claims = decodeJwt(admin.body.accessToken)
  t.equal(claims.role, 'admin', 'with TOTP the token carries the admin role')
  t.same(claims.amr, ['pwd', 'otp'])
  t.ok(Math.abs(Number(claims.auth_time) - Date.now() / 1000) < 60, 'auth_time is the sign-in')

  const created = await call(`${s.url}/v1/admin/staff`, post({ username: 'clerk', password: 'clerk correct horse', role: 'staff' }, admin.body.accessToken))
  t.equal(created.status, 201, created.body)
  t.match(created.json(), { username: 'clerk', role: 'staff', totpEnabled: false })

  // A buyer on an admin route: 403, and nothing is created.
  const buyer = (await call(`${s.url}/v1/auth/wechat/login`, post({ code: (await s.wxLogin()).code }))).json()
  const byBuyer = await call(`${s.url}/v1/admin/staff`, post({ username: 'mallory', password: 'mallory correct horse', role: 'admin' }, buyer.accessToken))
  t.equal(byBuyer.status, 403)
  const mallory = await passwordLogin(s, 'mallory', 'mallory correct horse')
  t.equal(mallory.body.error?.code, 'AUTH_INVALID_CREDENTIALS', 'no account was made')

  // Staff without TOTP cannot get a staff token.
  const clerkFirst = await passwordLogin(s, 'clerk', 'clerk correct horse')
  t.equal(decodeJwt(clerkFirst.body.accessToken).role, undefined, 'staff without TOTP get no staff token')
  const clerkSecret = await enrolTotp(s, clerkFirst.body.accessToken)
  const clerk = await passwordLogin(s, 'clerk', 'clerk correct horse', clerkSecret, 1)
  t.equal(decodeJwt(clerk.body.accessToken).role, 'staff')
  const clerkOnAdmin = await call(`${s.url}/v1/admin/staff`, post({ username: 'other', password: 'other correct horse', role: 'staff' }, clerk.body.accessToken))
  t.equal(clerkOnAdmin.status, 403, 'staff are not admins')

  // A role change ends the account's sessions at once; the next sign-in carries the new role.
  const demoted = await call(`${s.url}/v1/admin/staff/${created.json().userId as string}/role`, post({ role: 'buyer' }, admin.body.accessToken, 'PUT'))
  t.equal(demoted.status, 200, demoted.body)
  t.equal((await call(`${s.url}/v1/users/me`, { headers: { authorization: `Bearer ${clerk.body.accessToken as string}` } })).status, 401, 'the old staff token is refused at once')
  t.match(demoted.json(), { role: 'buyer', totpEnabled: true }, 'the account is now a buyer\'s')

  const staffCreated = await readEvents(stream, s.prefix, authAuditSubject('staff_created'), { atLeast: 2 })
  t.same(staffCreated.map((e) => [e.role, e.actorId]), [['admin', 'console'], ['staff', adminId]], 'one staff_created per account, naming who created it')
  const roleChanged = await readEvents(stream, s.prefix, authAuditSubject('role_changed'))
  t.equal(roleChanged.length, 1, 'one role_changed')
  t.match(roleChanged[0], { userId: created.json().userId, actorId: adminId, role: 'buyer', sessions: 2 })
  const text = JSON.stringify([...staffCreated, ...roleChanged])
  t.notMatch(text, /correct horse|totp|secret/i, 'no password or secret in the audit stream')
})

t.test('step-up: an old token cannot bind a password; a fresh wx.login or password + TOTP makes it recent', async (t) => {
  const s = await buildWechatStack(t, { STEP_UP_CREDENTIALS_S: '30', STEP_UP_MONEY_S: '30' })
  const stream = await connectOperator(t, s.prefix)
  const { openid, code } = await s.wxLogin()
  const login = (await call(`${s.url}/v1/auth/wechat/login`, post({ code }))).json()
  t.same(decodeJwt(login.accessToken).amr, ['wechat'], 'a WeChat sign-in')

  // A token whose sign-in is older than the window: forged here by waiting is slow, so sign-in time is moved back.
  await s.auth.app.pg.pool.query("UPDATE sessions SET auth_time = now() - interval '10 minutes' WHERE id = $1", [decodeJwt(login.accessToken).sid])
  const refreshed = (await call(`${s.url}/v1/auth/refresh`, post({ refreshToken: login.refreshToken }))).json()
  const bind = await call(`${s.url}/v1/auth/password/register`, post({ username: 'stolen-token', password: 'attacker correct horse' }, refreshed.accessToken))
  t.equal(bind.status, 401, 'a refresh does not make a sign-in recent')
  t.equal(bind.json().error.code, 'AUTH_REAUTH_REQUIRED')

  const otherUser = await call(`${s.url}/v1/auth/reauth`, post({ code: (await s.wxLogin()).code }, refreshed.accessToken))
  t.equal(otherUser.status, 401, 'another WeChat user\'s code is no step-up')
  t.equal(otherUser.json().error.code, 'AUTH_REAUTH_MISMATCH')

  const reauth = await call(`${s.url}/v1/auth/reauth`, post({ code: (await s.wxLogin(openid)).code }, refreshed.accessToken))
  t.equal(reauth.status, 200, reauth.body)
  const fresh = reauth.json().accessToken as string
  t.equal(decodeJwt(fresh).sid, decodeJwt(login.accessToken).sid, 'the same session')
  const bound = await call(`${s.url}/v1/auth/password/register`, post({ username: 'rightful', password: 'owner correct horse' }, fresh))
  t.equal(bound.status, 201, bound.body)

  const stepped = await readEvents(stream, s.prefix, authAuditSubject('stepped_up'))
  t.equal(stepped.length, 1, 'one stepped_up event')
  const failed = await readEvents(stream, s.prefix, authAuditSubject('login_failed'))
  t.same(failed.map((e) => e.reason), ['AUTH_REAUTH_MISMATCH'], 'the refused step-up is audited once')
})
