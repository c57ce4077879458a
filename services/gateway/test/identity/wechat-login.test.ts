import t from 'tap'
import { call } from '../helpers/client.js'
import { buildWechatStack } from './wechat-stack.js'

const json = (body: unknown) => ({ method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })

t.test('wx.login code -> tokens and a user; the user is created once and found again', async (t) => {
  const s = await buildWechatStack(t)
  const { code, openid } = await s.wxLogin()
  const res = await call(`${s.url}/v1/auth/wechat/login`, json({ code }))
  t.equal(res.status, 200, res.body)
  const body = res.json()
  t.equal(body.tokenType, 'Bearer')
  t.equal(body.expiresIn, 900)
  t.match(body.user.id, /^[0-9a-f-]{36}$/)
  t.notOk('openid' in body.user, 'the openid is not sent to the client')
  t.notOk('sessionKey' in body && 'session_key' in body)

  const me = await call(`${s.url}/v1/users/me`, { headers: { authorization: `Bearer ${body.accessToken}` } })
  t.equal(me.status, 200, me.body)
  t.equal(me.json().id, body.user.id)

  const again = await call(`${s.url}/v1/auth/wechat/login`, json({ code: (await s.wxLogin(openid)).code }))
  t.equal(again.json().user.id, body.user.id, 'the same openid is the same user')
})

t.test('session_key never appears in any response body or log line of the login flow', async (t) => {
  const s = await buildWechatStack(t)
  const { code } = await s.wxLogin()
  const res = await call(`${s.url}/v1/auth/wechat/login`, json({ code }))
  t.equal(res.status, 200)
  // The simulator knows every session_key it issued: look for each in everything the stack said.
  const users = (s.sim.app as unknown as { sim: { mp: { users: Map<string, { sessionKey?: string }> } } }).sim.mp.users
  const sessionKeys = [...users.values()].map((u) => u.sessionKey).filter((k): k is string => k !== undefined)
  t.equal(sessionKeys.length, 1, 'WeChat issued one session_key')
  const everything = [res.body, JSON.stringify(res.headers), ...s.gateway.logs.raw, ...s.auth.logs.raw, ...s.user.logs.raw].join('\n')
  for (const key of sessionKeys) t.notOk(everything.includes(key), 'session_key absent')
  t.notOk(everything.includes(code), 'the login code is not logged either')
  // At rest the key is sealed: Redis holds ciphertext only.
  const redisKeys = await s.auth.app.redis.keys(`${s.auth.config.REDIS_KEY_PREFIX}session-key:*`)
  t.equal(redisKeys.length, 1)
  const sealed = await s.auth.app.redis.get(redisKeys[0]!.slice(s.auth.config.REDIS_KEY_PREFIX.length))
  for (const key of sessionKeys) t.notOk(sealed?.includes(key), 'sealed in Redis')
})

t.test('the same code twice at once: one upstream call, the same session; later it is AUTH_CODE_USED', async (t) => {
  const s = await buildWechatStack(t)
  const { code } = await s.wxLogin()
  await fetch(`${s.sim.url}/sim/stats`, { method: 'DELETE' })
  const [a, b] = await Promise.all([call(`${s.url}/v1/auth/wechat/login`, json({ code })), call(`${s.url}/v1/auth/wechat/login`, json({ code }))])
  t.equal(a.status, 200, a.body)
  t.equal(b.status, 200, b.body)
  t.equal(a.json().refreshToken, b.json().refreshToken, 'both requests got the same session')
  const stats = await (await fetch(`${s.sim.url}/sim/stats`)).json() as { calls: Record<string, number> }
  t.equal(stats.calls.jscode2session, 1, 'exactly one code2Session call')

  // After the replay window the code is spent.
  await s.auth.app.redis.eval("local v = redis.call('GET', KEYS[1]); local d = cjson.decode(v); d['at'] = 0; redis.call('SET', KEYS[1], cjson.encode(d), 'KEEPTTL')", 1, (await s.auth.app.redis.keys(`${s.auth.config.REDIS_KEY_PREFIX}login:code:*`))[0]!.slice(s.auth.config.REDIS_KEY_PREFIX.length))
  const late = await call(`${s.url}/v1/auth/wechat/login`, json({ code }))
  t.equal(late.status, 401)
  t.equal(late.json().error.code, 'AUTH_CODE_USED')
})

t.test('a code WeChat already consumed (Redis lost the marker) is AUTH_CODE_USED, not a 500', async (t) => {
  const s = await buildWechatStack(t)
  const { code } = await s.wxLogin()
  t.equal((await call(`${s.url}/v1/auth/wechat/login`, json({ code }))).status, 200)
  for (const k of await s.auth.app.redis.keys(`${s.auth.config.REDIS_KEY_PREFIX}login:code:*`)) await s.auth.app.redis.del(k.slice(s.auth.config.REDIS_KEY_PREFIX.length))
  const res = await call(`${s.url}/v1/auth/wechat/login`, json({ code }))
  t.equal(res.status, 401)
  t.equal(res.json().error.code, 'AUTH_CODE_USED')
})

t.test('every code2Session error maps to a clear envelope', async (t) => {
  const s = await buildWechatStack(t)
  const cases: Array<[number, number, string]> = [
    [40029, 401, 'AUTH_CODE_INVALID'],
    [40163, 401, 'AUTH_CODE_USED'],
    [40226, 403, 'AUTH_USER_BLOCKED'],
    [45011, 429, 'WECHAT_RATE_LIMITED'],
    [-1, 503, 'WECHAT_UNAVAILABLE'],
    [40013, 502, 'WECHAT_ERROR']
  ]
  for (const [errcode, status, code] of cases) {
    await fetch(`${s.sim.url}/sim/faults`, { method: 'DELETE' })
    const fault = await fetch(`${s.sim.url}/sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ endpoint: 'jscode2session', errcode, times: 10 }) })
    t.ok(fault.ok, await fault.text())
    const res = await call(`${s.url}/v1/auth/wechat/login`, json({ code: (await s.wxLogin()).code }))
    t.equal(res.status, status, `${errcode} -> ${status}`)
    t.equal(res.json().error.code, code)
    t.match(res.json().error.traceId, /^[0-9a-f]{32}$/)
  }
})

t.test('bad login input is a 4xx envelope and creates nothing', async (t) => {
  const s = await buildWechatStack(t)
  const bad: Array<[unknown, number]> = [
    [{}, 400],
    [{ code: '' }, 400],
    [{ code: 123 }, 400],
    [{ code: 'has spaces and ; semicolons' }, 400],
    [{ code: 'x'.repeat(500) }, 400],
    [{ code: 'abcdefgh', extra: 1 }, 400]
  ]
  for (const [body, status] of bad) {
    const res = await call(`${s.url}/v1/auth/wechat/login`, json(body))
    t.equal(res.status, status, JSON.stringify(body).slice(0, 60))
    t.type(res.json().error.code, 'string')
  }
  const notJson = await call(`${s.url}/v1/auth/wechat/login`, { method: 'POST', body: '{"code":', headers: { 'content-type': 'application/json' } })
  t.equal(notJson.status, 400)
  const huge = await call(`${s.url}/v1/auth/wechat/login`, { method: 'POST', body: JSON.stringify({ code: 'a'.repeat(10 * 1024 * 1024) }), headers: { 'content-type': 'application/json' } })
  t.equal(huge.status, 413)
  t.equal(huge.json().error.code, 'PAYLOAD_TOO_LARGE')
  const { rows } = await s.user.app.pg.query('SELECT count(*)::int AS n FROM users')
  t.equal(rows[0].n, 0, 'no user was created')
})

t.test('bind phone: getPhoneNumber with the server access_token, stored, shown masked', async (t) => {
  const s = await buildWechatStack(t)
  const { code, openid } = await s.wxLogin()
  const login = (await call(`${s.url}/v1/auth/wechat/login`, json({ code }))).json()
  const auth = { authorization: `Bearer ${login.accessToken}` }
  const phoneCode = await s.phoneCode(openid, '13800138000')
  const res = await call(`${s.url}/v1/auth/wechat/phone`, { ...json({ code: phoneCode }), headers: { ...json({}).headers, ...auth } })
  t.equal(res.status, 200, res.body)
  t.same(res.json(), { phone: '138****8000' })
  const me = (await call(`${s.url}/v1/users/me`, { headers: auth })).json()
  t.equal(me.phone, '138****8000')
  const everything = [...s.gateway.logs.raw, ...s.auth.logs.raw, ...s.user.logs.raw].join('\n')
  t.notOk(everything.includes('13800138000'), 'the full number is never logged')
  const reuse = await call(`${s.url}/v1/auth/wechat/phone`, { ...json({ code: phoneCode }), headers: { ...json({}).headers, ...auth } })
  t.equal(reuse.status >= 400 && reuse.status < 500, true, 'a phone code is single-use')
})

t.test('PATCH /v1/users/me validates and updates the profile', async (t) => {
  const s = await buildWechatStack(t)
  const login = (await call(`${s.url}/v1/auth/wechat/login`, json({ code: (await s.wxLogin()).code }))).json()
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${login.accessToken}` }
  const ok = await call(`${s.url}/v1/users/me`, { method: 'PATCH', headers, body: JSON.stringify({ nickname: '小红', avatarUrl: 'https://thirdwx.qlogo.cn/a/132' }) })
  t.equal(ok.status, 200, ok.body)
  t.equal(ok.json().nickname, '小红')
  for (const body of [{ avatarUrl: 'javascript:alert(1)' }, { nickname: 'x'.repeat(100) }, { id: 'someone-else' }]) {
    const res = await call(`${s.url}/v1/users/me`, { method: 'PATCH', headers, body: JSON.stringify(body) })
    t.equal(res.status, 400, JSON.stringify(body))
  }
  const anon = await call(`${s.url}/v1/users/me`)
  t.equal(anon.status, 401)
  t.equal(anon.json().error.code, 'UNAUTHENTICATED')
})
