import t from 'tap'
import { decodeJwt } from 'jose'
import { Kvm } from '@nats-io/kv'
import { buildTestService, connectOperator, readEvents } from '@wxmp/service/testing'
import { callerContext, eventually } from '@wxmp/testing'
import type { TraceContext } from '@wxmp/core'
import { prefixedName, REVOCATION_BUCKET } from '@wxmp/contracts'
import userApp from '@wxmp/user/app'
import { ConfigSchema as UserConfig } from '@wxmp/user/config'
import app from '../src/app.js'
import { ConfigSchema } from '../src/config.js'
import { authTestEnv } from './helpers/env.js'

const PASSWORD = 'correct horse battery'

async function build (t: Parameters<typeof buildTestService>[0]) {
  const auth = await buildTestService(t, { name: 'auth', schema: ConfigSchema, app, env: authTestEnv() })
  const user = await buildTestService(t, { name: 'user', schema: UserConfig, app: userApp, prefix: auth.config.NATS_SUBJECT_PREFIX })
  const client = auth.callers
  const prefix = auth.config.NATS_SUBJECT_PREFIX
  const call = async <T = any>(subject: string, body: unknown, ctx?: TraceContext): Promise<T> => (await client.request<T>(subject, body, ctx)).data
  const failure = async (subject: string, body: unknown, ctx?: TraceContext): Promise<{ statusCode: number, code: string }> => {
    try {
      await client.request(subject, body, ctx)
    } catch (err) {
      const e = err as { statusCode: number, code: string }
      return { statusCode: e.statusCode, code: e.code }
    }
    return { statusCode: 200, code: 'OK' }
  }
  const operator = await connectOperator(t, prefix)
  /** Every event of `subject` once auth's outbox is drained: what a consumer will ever see of what happened so far. */
  const events = async (subject: string): Promise<Array<Record<string, any>>> => {
    for (const svc of [auth, user]) {
      await eventually(async () => Number((await svc.app.pg.query('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL')).rows[0].n), (n) => n === 0)
    }
    return await readEvents(operator, prefix, subject, { atLeast: 0 })
  }
  const kv = await new Kvm(auth.app.nats).open(prefixedName(prefix, REVOCATION_BUCKET.name))
  return { auth, user, call, failure, events, kv }
}

type Login = { accessToken: string, refreshToken: string, user: { id: string } }

/** The caller a gateway would forward for this token; `extra` adds role and step-up claims. */
const as = (login: Login, extra: Partial<TraceContext> = {}): TraceContext => {
  const c = decodeJwt(login.accessToken) as { sub: string, sid: string }
  return { ...callerContext({ userId: c.sub, sessionId: c.sid }), ...extra }
}
const sid = (login: Login): string => (decodeJwt(login.accessToken) as { sid: string }).sid
const now = (): number => Math.floor(Date.now() / 1000)

t.test('the session list shows each sign-in\'s client and which one is current; one is ended from it, audited once', async (t) => {
  const { call, failure, events, kv } = await build(t)
  const phone = await call<Login>('auth.passwordRegister', { username: 'mia', password: PASSWORD, client: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (iPhone) MicroMessenger/8.0.50' } })
  const laptop = await call<Login>('auth.passwordLogin', { username: 'mia', password: PASSWORD, client: { ip: '198.51.100.23', userAgent: 'Mozilla/5.0 (Macintosh)' } })
  await call('auth.refresh', { refreshToken: laptop.refreshToken })

  const { sessions } = await call('auth.sessions', {}, as(phone))
  t.equal(sessions.length, 2)
  const mine = sessions.find((s: any) => s.id === sid(phone))
  const other = sessions.find((s: any) => s.id === sid(laptop))
  t.match(mine, { current: true, method: 'password', ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (iPhone) MicroMessenger/8.0.50', lastRefreshedAt: null })
  t.match(other, { current: false, ip: '198.51.100.23', userAgent: 'Mozilla/5.0 (Macintosh)' })
  t.type(other.lastRefreshedAt, 'string', 'the refreshed session says when')

  // Another user cannot end mia's session, nor learn whether it exists.
  const stranger = await call<Login>('auth.passwordRegister', { username: 'noah', password: PASSWORD })
  t.same(await failure('auth.revokeSession', { sessionId: sid(laptop) }, as(stranger)), { statusCode: 404, code: 'NOT_FOUND' })
  t.same(await failure('auth.revokeSession', { sessionId: '00000000-0000-4000-8000-000000000000' }, as(phone)), { statusCode: 404, code: 'NOT_FOUND' })
  t.same(await failure('auth.revokeSession', { sessionId: 'not-a-uuid' }, as(phone)), { statusCode: 400, code: 'VALIDATION_FAILED' })

  const ended = await call('auth.revokeSession', { sessionId: sid(laptop) }, as(phone))
  const entry = await kv.get(sid(laptop))
  t.same(ended, { revokedSessions: 1, revocations: [{ sessionId: sid(laptop), revision: entry?.revision }] }, 'the reply carries the KV revision the gateway applies')
  t.same(await failure('auth.refresh', { refreshToken: laptop.refreshToken }), { statusCode: 401, code: 'AUTH_SESSION_REVOKED' })
  t.same((await call('auth.sessions', {}, as(phone))).sessions.map((s: any) => s.id), [sid(phone)], 'the list shows what is left')

  // A retry republishes but is not a second revocation.
  t.equal((await call('auth.revokeSession', { sessionId: sid(laptop) }, as(phone))).revokedSessions, 1)
  const audited = await events('events.auth.session_revoked')
  t.equal(audited.length, 1, 'exactly one audit event')
  t.match(audited[0], { action: 'session_revoked', userId: phone.user.id, sessionId: sid(laptop), reason: 'revoked_from_list', sessions: 1 })
  t.notMatch(JSON.stringify(audited[0]), /rt_|eyJ|203\.0\.113/, 'no token or address in the audit event')
})

t.test('logout-all can remove the password, only after a fresh sign-in', async (t) => {
  const { call, failure } = await build(t)
  const one = await call<Login>('auth.passwordRegister', { username: 'olga', password: PASSWORD })
  const two = await call<Login>('auth.passwordLogin', { username: 'olga', password: PASSWORD })

  // A token whose sign-in is old cannot remove a credential; nothing changes.
  t.same(await failure('auth.logoutAll', { removePassword: true }, as(two, { authTime: now() - 3600, amr: ['wechat'] })), { statusCode: 401, code: 'AUTH_REAUTH_REQUIRED' })
  t.same(await failure('auth.logoutAll', { removePassword: true }, as(two)), { statusCode: 401, code: 'AUTH_REAUTH_REQUIRED' }, 'a token that does not say when it signed in')
  t.same(await failure('auth.logoutAll', { removePassword: 'yes' }, as(two)), { statusCode: 400, code: 'VALIDATION_FAILED' })
  t.ok(await call('auth.refresh', { refreshToken: one.refreshToken }), 'sessions still live')

  const out = await call('auth.logoutAll', { removePassword: true }, as(two, { authTime: now() - 10, amr: ['pwd', 'otp'] }))
  t.equal(out.revokedSessions, 2)
  t.equal(out.passwordRemoved, true)
  t.equal(out.revocations.length, 2)
  t.same(await failure('auth.passwordLogin', { username: 'olga', password: PASSWORD }), { statusCode: 401, code: 'AUTH_INVALID_CREDENTIALS' }, 'the password is gone')

  // A plain logout-all (wx.request's empty body) keeps the password.
  const three = await call<Login>('auth.passwordRegister', { username: 'pia', password: PASSWORD })
  t.match(await call('auth.logoutAll', {}, as(three)), { revokedSessions: 1, passwordRemoved: false })
  t.ok(await call('auth.passwordLogin', { username: 'pia', password: PASSWORD }), 'the password still signs in')
})

t.test('staff find, disable and enable a user: sessions end at once, sign-ins get 403 ACCOUNT_DISABLED, each change audited once', async (t) => {
  const { call, failure, events, kv } = await build(t)
  const admin = await call<Login>('auth.passwordRegister', { username: 'staff.sam', password: PASSWORD })
  const staff = (extra: Partial<TraceContext> = {}) => as(admin, { role: 'staff', authTime: now(), amr: ['pwd', 'otp'], ...extra })
  const buyer = await call<Login>('auth.passwordRegister', { username: 'quinn', password: PASSWORD })
  const second = await call<Login>('auth.passwordLogin', { username: 'quinn', password: PASSWORD })
  await call('user.setPhone', { userId: buyer.user.id, phone: '13800138000' })

  // Finding: by username in any spelling, by id, by phone with or without +86; phones masked.
  for (const q of ['QUINN', buyer.user.id, '13800138000', '+8613800138000']) {
    const { users } = await call('auth.findUsers', { q }, staff())
    t.same(users.map((u: any) => u.id), [buyer.user.id], `found by ${q === buyer.user.id ? 'id' : q}`)
    t.match(users[0], { username: 'quinn', phone: '138****8000', disabled: false, deleted: false })
  }
  t.same((await call('auth.findUsers', { q: 'nobody-here' }, staff())).users, [])

  // A buyer is refused, whatever the gateway did.
  t.same(await failure('auth.findUsers', { q: 'quinn' }, as(buyer)), { statusCode: 403, code: 'FORBIDDEN' })
  t.same(await failure('auth.disableUser', { userId: admin.user.id }, as(buyer)), { statusCode: 403, code: 'FORBIDDEN' })
  t.same(await failure('auth.disableUser', { userId: admin.user.id }, staff()), { statusCode: 409, code: 'CONFLICT' }, 'not oneself')
  t.same(await failure('auth.disableUser', { userId: '00000000-0000-4000-8000-000000000000' }, staff()), { statusCode: 404, code: 'NOT_FOUND' })

  const disabled = await call('auth.disableUser', { userId: buyer.user.id }, staff())
  t.match(disabled, { userId: buyer.user.id, disabled: true, revokedSessions: 2 })
  for (const s of [buyer, second]) {
    const entry = await kv.get(sid(s))
    t.ok(disabled.revocations.some((r: any) => r.sessionId === sid(s) && r.revision === entry?.revision), 'each session\'s revocation with its revision')
  }
  t.same(await failure('auth.refresh', { refreshToken: second.refreshToken }), { statusCode: 401, code: 'AUTH_SESSION_REVOKED' })
  t.same(await failure('auth.passwordLogin', { username: 'quinn', password: PASSWORD }), { statusCode: 403, code: 'ACCOUNT_DISABLED' })
  t.same(await failure('auth.passwordLogin', { username: 'quinn', password: 'wrong password here' }), { statusCode: 401, code: 'AUTH_INVALID_CREDENTIALS' }, 'a wrong password does not learn the account is disabled')
  t.match((await call('auth.findUsers', { q: 'quinn' }, staff())).users[0], { disabled: true })
  t.match(await call('auth.disableUser', { userId: buyer.user.id }, staff()), { disabled: true, revokedSessions: 0 }, 'a repeat changes nothing')

  t.match(await call('auth.enableUser', { userId: buyer.user.id }, staff()), { userId: buyer.user.id, disabled: false })
  t.ok((await call<Login>('auth.passwordLogin', { username: 'quinn', password: PASSWORD })).accessToken, 'sign-in works again')
  t.same(await failure('auth.refresh', { refreshToken: second.refreshToken }), { statusCode: 401, code: 'AUTH_SESSION_REVOKED' }, 'old sessions stay ended')
  await call('auth.enableUser', { userId: buyer.user.id }, staff())

  const off = await events('events.auth.user_disabled')
  const on = await events('events.auth.user_enabled')
  t.equal(off.length, 1, 'one user_disabled event')
  t.equal(on.length, 1, 'one user_enabled event')
  t.match(off[0], { action: 'user_disabled', actorId: admin.user.id, userId: buyer.user.id, sessions: 2 })
  t.match(on[0], { action: 'user_enabled', actorId: admin.user.id, userId: buyer.user.id })
  t.same(await failure('auth.enableUser', { userId: buyer.user.id }, staff({ amr: ['pwd'] })), { statusCode: 401, code: 'AUTH_REAUTH_REQUIRED' }, 'enabling needs a recent TOTP')
})

t.test('deleting an account erases the profile and the password, ends every session, and is audited once', async (t) => {
  const { auth, user, call, failure, events } = await build(t)
  const one = await call<Login>('auth.passwordRegister', { username: 'rosa', password: PASSWORD, client: { ip: '203.0.113.9', userAgent: 'UA' } })
  const two = await call<Login>('auth.passwordLogin', { username: 'rosa', password: PASSWORD })
  await call('user.setPhone', { userId: one.user.id, phone: '13900139000' })
  await call('user.update', { nickname: 'Rosa' }, as(one))

  const deleted = await call('auth.deleteAccount', {}, as(one, { authTime: now(), amr: ['wechat'] }))
  t.match(deleted, { deleted: true, revokedSessions: 2 })
  t.equal(deleted.revocations.length, 2)
  t.same(await failure('auth.refresh', { refreshToken: two.refreshToken }), { statusCode: 401, code: 'AUTH_SESSION_REVOKED' })
  t.same(await failure('auth.passwordLogin', { username: 'rosa', password: PASSWORD }), { statusCode: 401, code: 'AUTH_INVALID_CREDENTIALS' })
  const { rows: [row] } = await user.app.pg.query('SELECT nickname, phone, openid, deleted_at FROM users WHERE id = $1', [one.user.id])
  t.match(row, { nickname: null, phone: null, openid: null })
  t.ok(row.deleted_at, 'the row stays, naming nobody')
  const { rows: addresses } = await auth.app.pg.query('SELECT client_ip, user_agent FROM sessions WHERE user_id = $1', [one.user.id])
  t.ok(addresses.every((a) => a.client_ip === null && a.user_agent === null), 'the session list\'s addresses are erased')

  // A repeat (a retried request) erases nothing more and is not audited again.
  t.match(await call('auth.deleteAccount', {}, as(one)), { deleted: true, revokedSessions: 0 })
  const audited = await events('events.auth.account_deleted')
  t.equal(audited.length, 1, 'one account_deleted event')
  t.match(audited[0], { action: 'account_deleted', userId: one.user.id, reason: 'user', sessions: 2 })
  t.notOk(audited[0] !== undefined && 'actorId' in audited[0], 'the user did it themselves')
  const userDeleted = await events('events.user.deleted')
  t.equal(userDeleted.length, 1, 'one user.deleted event for the services that keep copies')
  t.match(userDeleted[0], { userId: one.user.id })
})
