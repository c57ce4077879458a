import t from 'tap'
import { buildTestService, connectOperator, readEvents } from '@wxmp/service/testing'
import type { TraceContext } from '@wxmp/core'
import { callerContext } from '@wxmp/testing'
import app from '../src/app.js'
import { ConfigSchema } from '../src/config.js'

const APPID = 'wx0123456789abcdef'
const as = (userId: string): TraceContext => callerContext({ userId })

async function build (t: Parameters<typeof buildTestService>[0]) {
  const svc = await buildTestService(t, { name: 'user', schema: ConfigSchema, app })
  const call = async <T>(subject: string, body: unknown, ctx?: TraceContext) => (await svc.callers.request<T>(subject, body, ctx)).data
  return { ...svc, call }
}

t.test('boots migrated and ready', async (t) => {
  const { app: svc } = await build(t)
  const ready = await svc.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 200, ready.body)
  const { rows } = await svc.pg.query('SELECT name FROM pgmigrations ORDER BY id')
  t.same(rows.map((r) => r.name), ['1764200000000_users', '1764200000001_outbox', '1764900000021_a2-erasure'])
})

t.test('ensure creates a user once, even when the first logins race, and publishes one user.created', async (t) => {
  const { call, app: svc, config } = await build(t)
  const results = await Promise.all(Array.from({ length: 10 }, async () =>
    await call<{ user: { id: string }, created: boolean }>('user.ensure', { appid: APPID, openid: 'o-racer' })))
  const ids = new Set(results.map((r) => r.user.id))
  t.equal(ids.size, 1, 'one user')
  t.equal(results.filter((r) => r.created).length, 1, 'created reported once')
  const again = await call<{ user: { id: string }, created: boolean }>('user.ensure', { appid: APPID, openid: 'o-racer', unionid: 'u-1' })
  t.equal(again.created, false)
  const { rows } = await svc.pg.query('SELECT unionid FROM users WHERE id = $1', [again.user.id])
  t.equal(rows[0].unionid, 'u-1', 'a unionid learnt later is kept')

  const operator = await connectOperator(t, config.NATS_SUBJECT_PREFIX)
  const events = await readEvents(operator, config.NATS_SUBJECT_PREFIX, 'events.user.created')
  await new Promise((resolve) => setTimeout(resolve, 300))
  const settled = await readEvents(operator, config.NATS_SUBJECT_PREFIX, 'events.user.created')
  t.equal(settled.length, 1, 'exactly one event')
  t.equal(events[0]?.userId, again.user.id)
  t.equal(events[0]?.appid, APPID)
  t.match(events[0]?.id, /^[0-9a-f-]{36}$/)
})

t.test('the caller reads and edits their own profile; the phone is masked', async (t) => {
  const { call } = await build(t)
  const { user } = await call<{ user: { id: string } }>('user.ensure', { appid: APPID, openid: 'o-me' })
  const me = await call<Record<string, unknown>>('user.me', {}, as(user.id))
  t.same(me, { id: user.id, nickname: null, avatarUrl: null, phone: null, createdAt: me.createdAt })
  const updated = await call<Record<string, unknown>>('user.update', { nickname: '小明', avatarUrl: 'https://thirdwx.qlogo.cn/mmopen/abc/132' }, as(user.id))
  t.equal(updated.nickname, '小明')
  t.equal(updated.avatarUrl, 'https://thirdwx.qlogo.cn/mmopen/abc/132')
  const cleared = await call<Record<string, unknown>>('user.update', { avatarUrl: null }, as(user.id))
  t.equal(cleared.avatarUrl, null)
  t.equal(cleared.nickname, '小明', 'fields not sent are kept')
  const phoned = await call<Record<string, unknown>>('user.setPhone', { userId: user.id, phone: '13800138000' })
  t.equal(phoned.phone, '138****8000')
  t.notMatch(JSON.stringify(await call('user.me', {}, as(user.id))), /13800138000/)
})

t.test('bad input and unknown callers get 4xx, never 500', async (t) => {
  const { app: svc, callers: client, call } = await build(t)
  const { user } = await call<{ user: { id: string } }>('user.ensure', { appid: APPID, openid: 'o-bad' })
  await t.rejects(client.request('user.me', {}, undefined), { statusCode: 401, code: 'UNAUTHENTICATED' })
  await t.rejects(client.request('user.me', {}, as('00000000-0000-4000-8000-000000000000')), { statusCode: 404, code: 'NOT_FOUND' })
  for (const bad of [
    { avatarUrl: 'javascript:alert(1)' },
    { avatarUrl: 'http://insecure.example/a.png' },
    { nickname: '' },
    { nickname: 'x'.repeat(65) },
    {},
    { nickname: 'ok', isAdmin: true }
  ]) {
    await t.rejects(client.request('user.update', bad, as(user.id)), { statusCode: 400, code: 'VALIDATION_FAILED' }, JSON.stringify(bad))
  }
  await t.rejects(client.request('user.ensure', { appid: "wx'; DROP TABLE users;--", openid: 'x' }, undefined), { statusCode: 400, code: 'VALIDATION_FAILED' })
  await t.rejects(client.request('user.get', { userId: 'not-a-uuid' }, undefined), { statusCode: 400, code: 'VALIDATION_FAILED' })
  const { rows } = await svc.pg.query('SELECT count(*)::int AS n FROM users')
  t.equal(rows[0].n, 1, 'nothing changed')
})

t.test('erasing a user blanks profile, phone and WeChat identity once; the same openid then makes a new user', async (t) => {
  const { call, callers: client, app: svc } = await build(t)
  const { user } = await call<{ user: { id: string } }>('user.ensure', { appid: APPID, openid: 'o-leaving', unionid: 'u-leaving' })
  await call('user.update', { nickname: '小红' }, as(user.id))
  await call('user.setPhone', { userId: user.id, phone: '13700137000' })
  t.same((await call<{ users: Array<{ id: string }> }>('user.search', { q: '+86 137-0013-7000' })).users.map((u) => u.id), [user.id], 'found by phone as staff type it')

  // A WeChat push names the user by openid; a repeat (a replayed push) finds nobody.
  t.same(await call('user.erase', { appid: APPID, openid: 'o-leaving' }), { userId: user.id, erased: true })
  await t.rejects(client.request('user.erase', { appid: APPID, openid: 'o-leaving' }, undefined), { statusCode: 404, code: 'NOT_FOUND' })
  t.same(await call('user.erase', { userId: user.id }), { userId: user.id, erased: false })
  const { rows: [row] } = await svc.pg.query('SELECT appid, openid, unionid, nickname, avatar_url, phone, deleted_at FROM users WHERE id = $1', [user.id])
  t.match(row, { appid: null, openid: null, unionid: null, nickname: null, avatar_url: null, phone: null })
  t.ok(row.deleted_at)
  t.same((await call<{ users: unknown[] }>('user.search', { q: '13700137000' })).users, [], 'the phone is gone')

  const again = await call<{ user: { id: string }, created: boolean }>('user.ensure', { appid: APPID, openid: 'o-leaving' })
  t.equal(again.created, true, 'the next wx.login of that WeChat user is a new user')
  t.not(again.user.id, user.id)
  await t.rejects(client.request('user.erase', { userId: 'nope' }, undefined), { statusCode: 400, code: 'VALIDATION_FAILED' })
})
