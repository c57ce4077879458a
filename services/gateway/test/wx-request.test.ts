import t from 'tap'
import { buildPayStack } from './payments/pay-stack.js'
import { call } from './helpers/client.js'

// The bytes wx.request sends for `wx.request({url, method: 'POST', header: {authorization}})`: its default
// content-type with no body at all.
const wxBodyless = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': '0' })

t.test('a mini-program can log out: a bodyless POST with wx.request\'s default content-type ends the session', async (t) => {
  const s = await buildPayStack(t)
  const token = await s.login()
  const out = await call(`${s.url}/v1/auth/logout`, { method: 'POST', headers: wxBodyless(token) })
  t.equal(out.status, 200, out.body)
  t.same(out.json(), { revokedSessions: 1 })
  const me = await call(`${s.url}/v1/users/me`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(me.status, 401, 'the old token is refused at once')

  const again = await s.login()
  const all = await call(`${s.url}/v1/auth/logout-all`, { method: 'POST', headers: wxBodyless(again) })
  t.equal(all.status, 200, 'logout-all too')
})

t.test('an empty JSON body is still refused where a body is required, and bad JSON stays bad', async (t) => {
  const s = await buildPayStack(t)
  const refresh = await call(`${s.url}/v1/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '0' } })
  t.equal(refresh.status, 400)
  t.equal(refresh.json().error.code, 'VALIDATION_FAILED')
  const broken = await call(`${s.url}/v1/auth/refresh`, { method: 'POST', body: '{"refreshToken":' })
  t.equal(broken.status, 400)
  t.match(broken.json().error, { code: 'BAD_REQUEST', message: /JSON/ })
  const poisoned = await call(`${s.url}/v1/auth/refresh`, { method: 'POST', body: '{"__proto__":{"admin":true},"refreshToken":"rt_aaaaaaaaaaaaaaaaaaaaaaaa"}' })
  t.equal(poisoned.status, 400, 'prototype poisoning is still refused')
})

t.test('the profile is updated with PUT, the method wx.request has, and PATCH still works for other clients', async (t) => {
  const s = await buildPayStack(t)
  const token = await s.login()
  const put = await call(`${s.url}/v1/users/me`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ nickname: '小程序' }) })
  t.equal(put.status, 200, put.body)
  t.equal(put.json().nickname, '小程序')
  const patch = await s.api(token, 'PATCH', '/v1/users/me', { nickname: 'other' })
  t.equal(patch.status, 200)
  t.equal((await s.api(token, 'GET', '/v1/users/me')).json().nickname, 'other')
})

t.test('a method a known path does not have answers 405 with Allow; an unknown path is still 404', async (t) => {
  const s = await buildPayStack(t)
  const token = await s.login()
  const wrong = await call(`${s.url}/v1/auth/logout`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })
  t.equal(wrong.status, 405)
  t.equal(wrong.headers.allow, 'POST')
  t.equal(wrong.json().error.code, 'METHOD_NOT_ALLOWED')
  t.match(wrong.json().error.traceId, /^[0-9a-f]{32}$/)
  const order = await call(`${s.url}/v1/payments/orders/0f8fad5b-d9cb-469f-a165-70867728950e`, { method: 'PUT', headers: { authorization: `Bearer ${token}` } })
  t.equal(order.status, 405)
  t.equal(order.headers.allow, 'GET, HEAD')
  const anonymous = await call(`${s.url}/v1/payments/orders`, { method: 'PATCH' })
  t.equal(anonymous.status, 405, 'without a token too: the method is wrong whoever asks')
  t.equal(anonymous.headers.allow, 'GET, HEAD, POST')
  const unknown = await call(`${s.url}/v1/nothing-here`, { method: 'GET', headers: { authorization: `Bearer ${token}` } })
  t.equal(unknown.status, 404)
})
