import t from 'tap'
import { randomBytes, randomUUID } from 'node:crypto'
import { decodeJwt } from 'jose'
import { connectOperator, readEvents } from '@wxmp/service/testing'
import { eventually } from '@wxmp/testing'
import { PushCodec } from '@wxmp/wechat'
import { createAdmin } from '@wxmp/auth/cli/create-admin'
import { generate } from 'otplib'
import { call, type Res } from '../helpers/client.js'
import { buildWechatStack, type WechatStack } from './wechat-stack.js'

interface Login { accessToken: string, refreshToken: string, user: { id: string } }

/** A call with wx.request's bytes: JSON content-type, and a body only when there is one. */
const req = (method: string, token?: string, body?: unknown, headers: Record<string, string> = {}) => ({
  method,
  headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...headers },
  ...(body === undefined ? {} : { body: JSON.stringify(body) })
})

async function login (s: WechatStack, openid?: string, ua = 'Mozilla/5.0 (iPhone) MicroMessenger/8.0.50'): Promise<Login> {
  const res = await call(`${s.url}/v1/auth/wechat/login`, req('POST', undefined, { code: (await s.wxLogin(openid)).code }, { 'user-agent': ua }))
  if (res.status !== 200) throw new Error(`login: ${res.status} ${res.body}`)
  return res.json()
}

const sid = (l: Login): string => (decodeJwt(l.accessToken) as { sid: string }).sid
const me = async (s: WechatStack, l: Login): Promise<Res> => await call(`${s.url}/v1/users/me`, req('GET', l.accessToken))

/** Every event of `subject` once each service's outbox is drained. */
async function settledEvents (t: Parameters<typeof connectOperator>[0], s: WechatStack, subject: string): Promise<Array<Record<string, any>>> {
  for (const svc of [s.auth, s.user, s.payment]) {
    await eventually(async () => Number((await svc.app.pg.query('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL')).rows[0].n), (n) => n === 0)
  }
  return await readEvents(await connectOperator(t, s.prefix), s.prefix, subject, { atLeast: 0 })
}

t.test('the user sees their sessions and ends one from the list: its token is refused at once', async (t) => {
  const s = await buildWechatStack(t)
  const { openid } = await s.wxLogin()
  const phone = await login(s, openid)
  const ipad = await login(s, openid, 'Mozilla/5.0 (iPad) MicroMessenger/8.0.49')

  const list = await call(`${s.url}/v1/auth/sessions`, req('GET', phone.accessToken))
  t.equal(list.status, 200, list.body)
  const sessions = list.json().sessions
  t.equal(sessions.length, 2)
  t.match(sessions.find((x: any) => x.id === sid(phone)), { current: true, method: 'wechat', userAgent: 'Mozilla/5.0 (iPhone) MicroMessenger/8.0.50', ip: /^(::ffff:)?127\.0\.0\.1$|^::1$/ })
  t.match(sessions.find((x: any) => x.id === sid(ipad)), { current: false, userAgent: 'Mozilla/5.0 (iPad) MicroMessenger/8.0.49' })
  t.notMatch(list.body, /openid|rt_|eyJ/, 'no openid or token in the list')

  const stranger = await login(s)
  const foreign = await call(`${s.url}/v1/auth/sessions/${sid(ipad)}`, req('DELETE', stranger.accessToken))
  t.equal(foreign.status, 404, 'another user\'s session is not found')
  t.equal((await me(s, ipad)).status, 200, 'and still works')
  t.equal((await call(`${s.url}/v1/auth/sessions/nope`, req('DELETE', phone.accessToken))).status, 400)

  const ended = await call(`${s.url}/v1/auth/sessions/${sid(ipad)}`, req('DELETE', phone.accessToken))
  t.equal(ended.status, 200, ended.body)
  t.same(ended.json(), { revokedSessions: 1 })
  t.equal((await me(s, ipad)).status, 401, 'the ended session\'s access token is refused on the very next request')
  t.equal((await me(s, phone)).status, 200, 'the current one goes on')
  const refresh = await call(`${s.url}/v1/auth/refresh`, req('POST', undefined, { refreshToken: ipad.refreshToken }))
  t.equal(refresh.json().error.code, 'AUTH_SESSION_REVOKED')
  t.same((await call(`${s.url}/v1/auth/sessions`, req('GET', phone.accessToken))).json().sessions.map((x: any) => x.id), [sid(phone)])
  t.equal((await settledEvents(t, s, 'events.auth.session_revoked')).length, 1, 'one audit event')
})

t.test('deleting the account ends every session at once; the orders stay without phone, nickname or openid; the next wx.login is a new user', async (t) => {
  const s = await buildWechatStack(t)
  const { openid } = await s.wxLogin()
  const a = await login(s, openid)
  const b = await login(s, openid)
  t.equal((await call(`${s.url}/v1/users/me`, req('PUT', a.accessToken, { nickname: '小明' }))).status, 200)
  const bound = await call(`${s.url}/v1/auth/wechat/phone`, req('POST', a.accessToken, { code: await s.phoneCode(openid, '13800138000') }))
  t.equal(bound.status, 200, bound.body)
  const order = await call(`${s.url}/v1/payments/orders`, req('POST', a.accessToken, { productId: 'latte', quantity: 1 }, { 'idempotency-key': randomUUID() }))
  t.equal(order.status, 201, order.body)
  const orderId = order.json().id as string

  // wx.request's DELETE: JSON content-type, no body.
  const deleted = await call(`${s.url}/v1/users/me`, req('DELETE', a.accessToken))
  t.equal(deleted.status, 200, deleted.body)
  t.same(deleted.json(), { deleted: true, revokedSessions: 2 })
  t.equal((await me(s, a)).status, 401, 'the deleting session is refused at once')
  t.equal((await me(s, b)).status, 401, 'so is the other device')
  t.equal((await call(`${s.url}/v1/auth/refresh`, req('POST', undefined, { refreshToken: b.refreshToken }))).status, 401)

  const again = await login(s, openid)
  t.not(again.user.id, a.user.id, 'the same WeChat user signs in as a new account')
  t.match((await me(s, again)).json(), { nickname: null, phone: null }, 'with nothing of the old one')
  t.equal((await call(`${s.url}/v1/payments/orders/${orderId}`, req('GET', again.accessToken))).status, 404, 'nor its orders')

  const row = await eventually(async () => (await s.payment.app.pg.query('SELECT user_id, amount, payer_openid FROM orders WHERE id = $1', [orderId])).rows[0], (r) => r.payer_openid === null)
  t.match(row, { user_id: a.user.id, amount: 1800, payer_openid: null }, 'the order stays for accounting under an id that names nobody')
  const { rows: [profile] } = await s.user.app.pg.query('SELECT nickname, phone, openid FROM users WHERE id = $1', [a.user.id])
  t.same(profile, { nickname: null, phone: null, openid: null })

  const audited = await settledEvents(t, s, 'events.auth.account_deleted')
  t.equal(audited.length, 1, 'one audit event')
  t.match(audited[0], { action: 'account_deleted', userId: a.user.id, reason: 'user', sessions: 2 })
})

t.test('WeChat\'s user_authorization_revoke push erases the account it names, once, however often it is replayed', async (t) => {
  const token = randomBytes(12).toString('hex')
  const encodingAesKey = randomBytes(32).toString('base64').slice(0, 43)
  const s = await buildWechatStack(t, {}, { WECHAT_PUSH_TOKEN: token, WECHAT_PUSH_ENCODING_AES_KEY: encodingAesKey, WECHAT_PUSH_MODE: 'safe', WECHAT_PUSH_FORMAT: 'json' })
  const appid = s.auth.config.WECHAT_APPID
  const wechat = new PushCodec({ token, appid, encodingAesKey, mode: 'safe', format: 'json' })
  const { openid } = await s.wxLogin()
  const user = await login(s, openid)
  const bystander = await login(s)

  const push = { ToUserName: 'gh_870882ca4b1', FromUserName: 'oPlatformPushService', CreateTime: Math.floor(Date.now() / 1000), MsgType: 'event', Event: 'user_authorization_revoke', OpenID: openid, AppID: appid, RevokeInfo: '1' }
  const send = async (): Promise<Res> => {
    const sealed = wechat.seal(push)
    return await call(`${s.url}/v1/wechat/push?${new URLSearchParams(sealed.query as Record<string, string>).toString()}`, { method: 'POST', body: sealed.body, headers: { 'content-type': 'application/json' } })
  }
  // WeChat retries until it hears success; replays race each other too.
  const answers = await Promise.all(Array.from({ length: 5 }, send))
  answers.push(await send())
  t.ok(answers.every((r) => r.status === 200 && r.body === 'success'), 'every delivery is answered success')

  t.equal((await eventually(async () => await me(s, user), (r) => r.status === 401)).status, 401, 'the user\'s session is ended')
  t.equal((await me(s, bystander)).status, 200, 'nobody else\'s')
  const { rows: [profile] } = await s.user.app.pg.query('SELECT openid, deleted_at FROM users WHERE id = $1', [user.user.id])
  t.equal(profile.openid, null)
  t.ok(profile.deleted_at)
  const newcomer = await login(s, openid)
  t.not(newcomer.user.id, user.user.id, 'a later wx.login makes a new user')

  // A late replay of the same push is recognised: it does not erase the new account.
  t.equal((await send()).body, 'success')
  const audited = await settledEvents(t, s, 'events.auth.account_deleted')
  t.equal(audited.length, 1, 'erased once')
  t.match(audited[0], { action: 'account_deleted', userId: user.user.id, reason: 'user_authorization_revoke', sessions: 1 })
  t.notOk(audited[0] !== undefined && 'actorId' in audited[0], 'nobody of ours did it: WeChat asked')
  t.equal((await settledEvents(t, s, 'events.user.deleted')).length, 1)
  t.equal((await me(s, newcomer)).status, 200, 'the new account lives on')
})

t.test('staff find and disable a buyer: the existing token is refused on the next request, sign-in gets 403 ACCOUNT_DISABLED; enable restores sign-in', async (t) => {
  const s = await buildWechatStack(t)
  // The first admin from the console, with TOTP: a staff-or-better token.
  const password = 'admin correct horse'
  await createAdmin(s.auth.config, { username: 'ops-admin', password })
  const signIn = async (body: Record<string, string>): Promise<Res> => await call(`${s.url}/v1/auth/password/login`, req('POST', undefined, body))
  const first = (await signIn({ username: 'ops-admin', password })).json()
  const enrolled = (await call(`${s.url}/v1/auth/mfa/totp/enroll`, req('POST', first.accessToken, {}))).json()
  t.equal((await call(`${s.url}/v1/auth/mfa/totp/verify`, req('POST', first.accessToken, { code: await generate({ secret: enrolled.secret }) }))).status, 200)
  const staffLogin = await signIn({ username: 'ops-admin', password, totp: await generate({ secret: enrolled.secret, epoch: Math.floor(Date.now() / 1000) + 30 }) })
  t.equal(staffLogin.status, 200, staffLogin.body)
  const staff = staffLogin.json().accessToken as string

  const { openid } = await s.wxLogin()
  const buyer = await login(s, openid)
  t.equal((await call(`${s.url}/v1/users/me`, req('PUT', buyer.accessToken, { nickname: '阿强' }))).status, 200)

  // A buyer cannot use the admin routes.
  t.equal((await call(`${s.url}/v1/admin/users?q=${buyer.user.id}`, req('GET', buyer.accessToken))).status, 403)
  const byBuyer = await call(`${s.url}/v1/admin/users/${buyer.user.id}/disable`, req('POST', buyer.accessToken))
  t.equal(byBuyer.status, 403)
  t.equal(byBuyer.json().error.code, 'FORBIDDEN')

  const found = await call(`${s.url}/v1/admin/users?q=${buyer.user.id}`, req('GET', staff))
  t.equal(found.status, 200, found.body)
  t.match(found.json().users, [{ id: buyer.user.id, nickname: '阿强', disabled: false, deleted: false }])
  t.notMatch(found.body, new RegExp(openid), 'no openid for staff either')
  t.equal((await call(`${s.url}/v1/admin/users?q=`, req('GET', staff))).status, 400)

  const disabled = await call(`${s.url}/v1/admin/users/${buyer.user.id}/disable`, req('POST', staff))
  t.equal(disabled.status, 200, disabled.body)
  t.same(disabled.json(), { userId: buyer.user.id, disabled: true, revokedSessions: 1 })
  t.equal((await me(s, buyer)).status, 401, 'the existing token is refused on the very next request')
  const again = await call(`${s.url}/v1/auth/wechat/login`, req('POST', undefined, { code: (await s.wxLogin(openid)).code }))
  t.equal(again.status, 403)
  t.equal(again.json().error.code, 'ACCOUNT_DISABLED')
  t.equal((await call(`${s.url}/v1/auth/refresh`, req('POST', undefined, { refreshToken: buyer.refreshToken }))).status, 401, 'refresh refused')
  t.match((await call(`${s.url}/v1/admin/users?q=${buyer.user.id}`, req('GET', staff))).json().users, [{ disabled: true }])

  const enabled = await call(`${s.url}/v1/admin/users/${buyer.user.id}/enable`, req('POST', staff))
  t.equal(enabled.status, 200, enabled.body)
  t.same(enabled.json(), { userId: buyer.user.id, disabled: false, revokedSessions: 0 })
  const back = await login(s, openid)
  t.equal(back.user.id, buyer.user.id, 'the same account signs in again')
  t.equal((await me(s, back)).status, 200)

  const off = await settledEvents(t, s, 'events.auth.user_disabled')
  const on = await settledEvents(t, s, 'events.auth.user_enabled')
  t.equal(off.length, 1, 'one user_disabled event')
  t.equal(on.length, 1, 'one user_enabled event')
  t.match(off[0], { action: 'user_disabled', userId: buyer.user.id, actorId: decodeJwt(staff).sub, sessions: 1 })
})
