import t from 'tap'
import { ApiError, Limiter, NetworkError, WxmpClient } from '../src/index'
import { fakeWx, parked, take } from './fake-wx'

const BASE = 'https://api.example.com'
const tokens = (n: number, expiresIn = 900): Record<string, unknown> => ({ accessToken: `at-${n}`, refreshToken: `rt-${n}`.padEnd(24, 'x'), tokenType: 'Bearer', expiresIn })
const envelope = (code: string, message = code) => ({ error: { code, message, traceId: 'a'.repeat(32) } })

t.test('at most 10 wx.request calls are in flight; the rest wait their turn, in order', async (t) => {
  const f = fakeWx()
  f.storage.set('wxmp.tokens', { accessToken: 'at', refreshToken: 'rt', expiresAt: Date.now() + 3_600_000 })
  const client = new WxmpClient({ baseUrl: BASE, wx: f.wx })
  const all = Array.from({ length: 25 }, async (_v, i) => await client.request<{ i: number }>({ path: `/v1/x/${i}` }))
  await parked(f, 10)
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(f.parked.length, 10, 'the 11th request waits for a slot')
  t.same(client.pending, { inFlight: 10, queued: 15 })
  const order: string[] = []
  while (order.length < 25) {
    const p = await parked(f, 1)
    t.ok(p.length <= 10)
    const next = p.shift()!
    order.push(next.url)
    next.answer(200, { i: Number(next.url.split('/').pop()) })
  }
  t.same(order, Array.from({ length: 25 }, (_v, i) => `${BASE}/v1/x/${i}`), 'first queued, first sent')
  t.same((await Promise.all(all)).map((r) => r.i), Array.from({ length: 25 }, (_v, i) => i))
  t.same(client.pending, { inFlight: 0, queued: 0 })
})

t.test('a limiter never exceeds its cap, even when tasks fail', async (t) => {
  const l = new Limiter(2)
  let running = 0
  let peak = 0
  const tasks = Array.from({ length: 9 }, async (_v, i) => await l.run(async () => {
    running++
    peak = Math.max(peak, running)
    await new Promise((resolve) => setTimeout(resolve, 2))
    running--
    if (i % 3 === 0) throw new Error('boom')
    return i
  }).catch(() => -1))
  await Promise.all(tasks)
  t.equal(peak, 2)
  t.same(l.inFlight, 0)
})

t.test('the first request logs in with wx.login once, however many ask at the same time', async (t) => {
  const f = fakeWx()
  const client = new WxmpClient({ baseUrl: BASE, wx: f.wx })
  const calls = [client.me(), client.me(), client.login(), client.me()]
  const login = await take(f, '/v1/auth/wechat/login')
  t.same(login.data, { code: 'code-1' })
  login.answer(200, { ...tokens(1), user: { id: 'u1' } })
  for (let i = 0; i < 3; i++) (await take(f, '/v1/users/me')).answer(200, { id: 'u1' })
  await Promise.all(calls)
  t.equal(f.logins, 1, 'one wx.login')
  t.same(f.parked, [])
})

t.test('a spent login code gets one fresh wx.login, not a loop', async (t) => {
  const f = fakeWx()
  const client = new WxmpClient({ baseUrl: BASE, wx: f.wx })
  const me = client.me()
  ;(await take(f, '/v1/auth/wechat/login')).answer(401, envelope('AUTH_CODE_USED'))
  const second = await take(f, '/v1/auth/wechat/login')
  t.same(second.data, { code: 'code-2' })
  second.answer(200, { ...tokens(1), user: { id: 'u1' } })
  ;(await take(f, '/v1/users/me')).answer(200, { id: 'u1' })
  t.same(await me, { id: 'u1' })
  t.equal(f.logins, 2)

  const g = fakeWx()
  const c2 = new WxmpClient({ baseUrl: BASE, wx: g.wx })
  const failing = c2.me()
  ;(await take(g, '/v1/auth/wechat/login')).answer(401, envelope('AUTH_CODE_INVALID'))
  ;(await take(g, '/v1/auth/wechat/login')).answer(401, envelope('AUTH_CODE_INVALID'))
  const err = await failing.catch((e: unknown) => e)
  t.ok(err instanceof ApiError && err.code === 'AUTH_CODE_INVALID', 'the second spent code is the caller\'s error')
  t.equal(g.logins, 2)
})

t.test('a stored refresh token is used instead of wx.login, and five 401s share one refresh', async (t) => {
  const f = fakeWx()
  f.storage.set('wxmp.tokens', { accessToken: 'at-0', refreshToken: 'rt-0'.padEnd(24, 'x'), expiresAt: Date.now() + 3_600_000 })
  const client = new WxmpClient({ baseUrl: BASE, wx: f.wx })
  const five = Array.from({ length: 5 }, async () => await client.me())
  for (let i = 0; i < 5; i++) (await take(f, '/v1/users/me')).answer(401, envelope('AUTH_TOKEN_EXPIRED'))
  const refresh = await take(f, '/v1/auth/refresh')
  t.same(refresh.data, { refreshToken: 'rt-0'.padEnd(24, 'x') })
  await new Promise((resolve) => setTimeout(resolve, 30))
  t.equal(f.parked.filter((p) => p.url.endsWith('/v1/auth/refresh')).length, 0, 'no second refresh while the first runs')
  refresh.answer(200, tokens(1))
  for (let i = 0; i < 5; i++) {
    const again = await take(f, '/v1/users/me')
    t.equal(again.header.authorization, 'Bearer at-1')
    again.answer(200, { id: 'u1' })
  }
  t.equal((await Promise.all(five)).length, 5)
  t.equal(f.logins, 0, 'no wx.login')
})

t.test('a dead refresh token leads to one new login and the original request is still answered', async (t) => {
  const f = fakeWx()
  f.storage.set('wxmp.tokens', { accessToken: 'at-0', refreshToken: 'rt-0'.padEnd(24, 'x'), expiresAt: Date.now() - 1 })
  const client = new WxmpClient({ baseUrl: BASE, wx: f.wx })
  const me = [client.me(), client.me()]
  ;(await take(f, '/v1/auth/refresh')).answer(401, envelope('AUTH_REFRESH_REUSED'))
  ;(await take(f, '/v1/auth/wechat/login')).answer(200, { ...tokens(2), user: { id: 'u1' } })
  ;(await take(f, '/v1/users/me')).answer(200, { id: 'u1' })
  ;(await take(f, '/v1/users/me')).answer(200, { id: 'u1' })
  t.same(await Promise.all(me), [{ id: 'u1' }, { id: 'u1' }])
  t.equal(f.logins, 1)
})

t.test('error answers become typed errors; a lost answer is retried with the same key and trace', async (t) => {
  const f = fakeWx()
  f.storage.set('wxmp.tokens', { accessToken: 'at', refreshToken: 'rt', expiresAt: Date.now() + 3_600_000 })
  const client = new WxmpClient({ baseUrl: BASE, wx: f.wx, retries: 2 })

  const order = client.createOrder({ productId: 'p', quantity: 1 })
  const first = await take(f, '/v1/payments/orders')
  first.fail('request:fail socket hang up')
  const second = await take(f, '/v1/payments/orders')
  second.answer(503, envelope('UPSTREAM_UNAVAILABLE'))
  const third = await take(f, '/v1/payments/orders')
  third.answer(201, { id: 'o1' })
  t.same(await order, { id: 'o1' })
  const key = first.header['idempotency-key']
  t.match(key, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.equal(second.header['idempotency-key'], key)
  t.equal(third.header['idempotency-key'], key)
  const trace = (h: Record<string, string>): string | undefined => /^00-([0-9a-f]{32})-[0-9a-f]{16}-01$/.exec(h.traceparent ?? '')?.[1]
  t.ok(trace(first.header))
  t.equal(trace(second.header), trace(first.header), 'one trace across the attempts')
  t.equal(trace(third.header), trace(first.header))

  const bad = client.updateProfile({ nickname: '' })
  const put = await take(f, '/v1/users/me')
  t.equal(put.method, 'PUT')
  put.answer(400, envelope('VALIDATION_FAILED', 'body/nickname must NOT have fewer than 1 characters'))
  const err = await bad.catch((e: unknown) => e)
  t.ok(err instanceof ApiError)
  t.match(err, { code: 'VALIDATION_FAILED', status: 400, traceId: 'a'.repeat(32) })

  const post = client.request({ method: 'POST', path: '/v1/auth/logout-all' })
  ;(await take(f, '/v1/auth/logout-all')).fail('request:fail timeout')
  const lost = await post.catch((e: unknown) => e)
  t.ok(lost instanceof NetworkError && lost.errMsg === 'request:fail timeout', 'a write without a key is not retried blind')
})

t.test('requestPayment asks the backend even when the sheet says the buyer cancelled', async (t) => {
  const f = fakeWx()
  f.storage.set('wxmp.tokens', { accessToken: 'at', refreshToken: 'rt', expiresAt: Date.now() + 3_600_000 })
  const client = new WxmpClient({ baseUrl: BASE, wx: f.wx })
  const params = { appId: 'wx1', timeStamp: String(Math.floor(Date.now() / 1000)), nonceStr: 'n', package: 'prepay_id=1', signType: 'RSA' as const, paySign: 's' }
  const paying = client.requestPayment({ id: 'o1', payParams: params })
  ;(await take(f, '/v1/payments/orders/o1')).answer(200, { id: 'o1', status: 'PAID' })
  const outcome = await paying
  t.equal(outcome.errMsg, 'requestPayment:fail cancel')
  t.equal(outcome.paid, true, 'paid after all: the backend decides')
})

t.test('requestPayment renews payParams older than payParamsMaxAgeMs, or missing, before the sheet opens', async (t) => {
  const f = fakeWx()
  const sheets: Array<Record<string, unknown>> = []
  f.wx.requestPayment = (o: any) => { sheets.push(o); o.fail({ errMsg: 'requestPayment:fail cancel' }) }
  f.storage.set('wxmp.tokens', { accessToken: 'at', refreshToken: 'rt', expiresAt: Date.now() + 3_600_000 })
  // No watching after the cancelled sheet: one look at the order each.
  const client = new WxmpClient({ baseUrl: BASE, wx: f.wx, paymentCheckMs: 0 })
  const signedAt = (msAgo: number): string => String(Math.floor((Date.now() - msAgo) / 1000))
  const params = (timeStamp: string, nonceStr: string) => ({ appId: 'wx1', timeStamp, nonceStr, package: 'prepay_id=1', signType: 'RSA' as const, paySign: 's' })

  // Two hours old: WeChat would refuse its prepay_id, so fresh ones are fetched and those open the sheet.
  const paying = client.requestPayment({ id: 'o1', payParams: params(signedAt(2 * 3_600_000), 'old') })
  const renew = await take(f, '/v1/payments/orders/o1/pay-params')
  t.equal(renew.method, 'POST')
  renew.answer(200, { id: 'o1', status: 'PENDING', payParams: params(signedAt(0), 'fresh') })
  ;(await take(f, '/v1/payments/orders/o1')).answer(200, { id: 'o1', status: 'PENDING' })
  await paying
  t.equal(sheets[0]?.nonceStr, 'fresh', 'the sheet got the renewed payParams')

  const fromList = client.requestPayment({ id: 'o2' })
  ;(await take(f, '/v1/payments/orders/o2/pay-params')).answer(200, { id: 'o2', status: 'PENDING', payParams: params(signedAt(0), 'listed') })
  ;(await take(f, '/v1/payments/orders/o2')).answer(200, { id: 'o2', status: 'PENDING' })
  await fromList
  t.equal(sheets[1]?.nonceStr, 'listed', 'an order without payParams gets some first')

  const recent = client.requestPayment({ id: 'o3', payParams: params(signedAt(60_000), 'recent') })
  const asked = await take(f, '/v1/payments/orders/o3')
  t.equal(asked.method, 'GET')
  asked.answer(200, { id: 'o3', status: 'PENDING' })
  await recent
  t.equal(sheets[2]?.nonceStr, 'recent', 'a minute-old payParams are used as they are')
  t.same(f.parked.map((p) => p.url), [], 'and not renewed')
})

t.test('baseUrl must be https', async (t) => {
  t.throws(() => new WxmpClient({ baseUrl: 'http://api.example.com', wx: fakeWx().wx }), /https/)
})
