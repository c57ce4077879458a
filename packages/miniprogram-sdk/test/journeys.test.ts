import t from 'tap'
import https from 'node:https'
import { expiredCopy, selfSignedCert, wxBridge } from '@wxmp/test-stack'
import { ApiError, WxmpClient } from '../src/index'
import { phone } from './stack'

const TOKENS = 'wxmp.tokens'

async function raw (url: string, ca: string, token: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    https.get(url, { ca, headers: { authorization: `Bearer ${token}` } }, (res) => { res.resume(); resolve(res.statusCode ?? 0) }).on('error', reject)
  })
}

t.test('first launch logs in with wx.login and shows the profile; the next launch signs in without wx.login', async (t) => {
  const p = await phone(t)
  const first = p.launch()
  const me = await first.me()
  t.match(me, { id: String, nickname: null, phone: null })
  t.equal(p.bridge.logins, 1, 'one wx.login')
  t.equal(p.bridge.requests.filter((r) => r.url.endsWith('/v1/auth/wechat/login')).length, 1)
  t.ok(p.bridge.storage.has(TOKENS), 'the tokens are kept in wx storage')

  const second = p.launch()
  t.equal((await second.me()).id, me.id, 'a usable access token from storage: no login at all')
  t.equal(p.bridge.logins, 0)

  // Next morning: the access token has lapsed, the refresh token is still good.
  const stored = p.bridge.storage.get(TOKENS) as { accessToken: string, expiresAt: number }
  p.bridge.storage.set(TOKENS, { ...stored, accessToken: await expiredCopy(p.stack, stored.accessToken), expiresAt: Date.now() - 1000 })
  const third = p.launch()
  t.equal((await third.me()).id, me.id)
  t.equal(p.bridge.logins, 0, 'no wx.login while a refresh token is usable')
  t.same(p.bridge.requests.map((r) => `${r.method} ${new URL(r.url).pathname}`), ['POST /v1/auth/refresh', 'GET /v1/users/me'])
})

t.test('five concurrent requests with an expired token cause one refresh, and all five are answered', async (t) => {
  const p = await phone(t)
  const client = p.launch()
  const me = await client.me()
  const stored = p.bridge.storage.get(TOKENS) as { accessToken: string, expiresAt: number }
  // The phone's clock is wrong: it believes the token is valid, the gateway says it has expired.
  p.bridge.storage.set(TOKENS, { ...stored, accessToken: await expiredCopy(p.stack, stored.accessToken), expiresAt: Date.now() + 3_600_000 })
  p.bridge.relaunch()
  const answers = await Promise.all([client.me(), client.me(), client.orders(), client.me(), client.orders()])
  t.equal((answers[0] as { id: string }).id, me.id)
  t.equal(answers.length, 5)
  const refreshes = p.bridge.requests.filter((r) => r.url.endsWith('/v1/auth/refresh'))
  t.equal(refreshes.length, 1, 'one refresh for five 401s')
  t.equal(p.bridge.logins, 0)
  const retried = p.bridge.requests.filter((r) => !r.url.endsWith('/v1/auth/refresh'))
  t.equal(retried.length, 10, 'each request sent twice: with the expired token, then with the new one')
})

t.test('a dead refresh token leads to one new wx.login and the original request is still answered', async (t) => {
  // No grace for the previous refresh token: its second use revokes the family at once.
  const p = await phone(t, { auth: { REFRESH_REUSE_GRACE_SECONDS: '0' } })
  const client = p.launch()
  const me = await client.me()
  const stored = p.bridge.storage.get(TOKENS) as { accessToken: string, refreshToken: string }
  // Another copy of the app (a restored backup) rotated the same refresh token first.
  const stolen = await new Promise<number>((resolve, reject) => {
    const req = https.request(`${p.stack.url}/v1/auth/refresh`, { method: 'POST', ca: p.stack.ca, headers: { 'content-type': 'application/json' } }, (r) => { r.resume(); resolve(r.statusCode ?? 0) })
    req.on('error', reject)
    req.end(JSON.stringify({ refreshToken: stored.refreshToken }))
  })
  t.equal(stolen, 200)
  p.bridge.storage.set(TOKENS, { ...stored, accessToken: await expiredCopy(p.stack, stored.accessToken), expiresAt: Date.now() - 1000 })
  p.bridge.relaunch()
  const again = await Promise.all([client.me(), client.me()])
  t.equal(again[0].id, me.id, 'the same WeChat user, signed in again')
  t.equal(p.bridge.logins, 1, 'one wx.login for both requests')
  t.equal(p.bridge.requests.filter((r) => r.url.endsWith('/v1/auth/refresh')).length, 1)
})

t.test('an order whose answer is lost is retried with the same Idempotency-Key and trace: one order', async (t) => {
  const p = await phone(t)
  const client = p.launch()
  const [product] = await client.products()
  t.ok(product)
  p.bridge.loseAnswer((r) => r.method === 'POST' && r.url.endsWith('/v1/payments/orders'))
  const order = await client.createOrder({ productId: product!.id, quantity: 2 })
  t.equal(order.status, 'PENDING')
  t.equal(order.amount, product!.price * 2)
  const posts = p.bridge.requests.filter((r) => r.method === 'POST' && r.url.endsWith('/v1/payments/orders'))
  t.equal(posts.length, 2, 'sent twice: the first answer was lost')
  t.equal(posts[0]!.header['idempotency-key'], posts[1]!.header['idempotency-key'])
  t.equal(posts[0]!.header.traceparent?.split('-')[1], posts[1]!.header.traceparent?.split('-')[1], 'one trace')
  const { orders } = await client.orders()
  t.equal(orders.length, 1, 'one order')
  t.equal(orders[0]!.id, order.id)
})

t.test('pay: the sheet succeeds and the backend confirms PAID; cancel: the state is asked for, still PENDING', async (t) => {
  const p = await phone(t)
  const client = p.launch()
  const [product] = await client.products()
  const order = await client.createOrder({ productId: product!.id, quantity: 1 })
  const paid = await client.requestPayment(order)
  t.equal(paid.errMsg, 'requestPayment:ok')
  t.equal(paid.order.status, 'PAID', 'confirmed by the backend after WeChat Pay\'s notification')
  t.ok(paid.paid)

  const other = await client.createOrder({ productId: product!.id, quantity: 1 })
  p.bridge.payment = 'cancel'
  p.bridge.relaunch()
  const cancelled = await client.requestPayment(other)
  t.equal(cancelled.errMsg, 'requestPayment:fail cancel')
  t.equal(cancelled.order.status, 'PENDING')
  t.notOk(cancelled.paid)
  t.ok(p.bridge.requests.some((r) => r.method === 'GET' && r.url.endsWith(`/v1/payments/orders/${other.id}`)), 'the SDK asked the backend after the cancel')

  p.bridge.payment = 'pay'
  const forged = { ...other, payParams: { ...other.payParams!, paySign: paid.order.id.replace(/-/g, '') } }
  const refused = await client.requestPayment(forged)
  t.equal(refused.errMsg, 'requestPayment:fail 支付验证签名失败', 'a wrong paySign is caught by WeChat')
  t.equal(refused.order.status, 'PENDING')
})

t.test('pay later: payParams older than the SDK trusts are renewed before the sheet opens, an order from the list gets some, a paid one refuses', async (t) => {
  // WeChat's two hours scaled down to one second, at WeChat Pay (the simulator) and in the payment service alike.
  const p = await phone(t, { payment: { PREPAY_RENEW_AFTER_SECONDS: '1' }, sim: { SIM_PREPAY_TTL_SECONDS: '1' } })
  const client = p.launch({ payParamsMaxAgeMs: 1000 })
  const [product] = await client.products()
  const order = await client.createOrder({ productId: product!.id, quantity: 1 })
  const prepays = async (): Promise<number> => ((await (await fetch(`${p.stack.sim.url}/sim/stats`)).json()) as { prepay: Record<string, number> }).prepay[order.outTradeNo] ?? 0
  t.equal(await prepays(), 1)
  // The buyer comes back later: three seconds after the timeStamp (rounded down to the second), so the payParams
  // held are older than payParamsMaxAgeMs and the prepay behind them is past its one second.
  const wait = Number(order.payParams!.timeStamp) * 1000 + 3000 - Date.now()
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  p.bridge.relaunch()
  const paid = await client.requestPayment(order)
  t.equal(paid.errMsg, 'requestPayment:ok', 'the sheet opened with the renewed payParams (the held ones had expired)')
  t.equal(paid.order.status, 'PAID')
  t.same(p.bridge.requests.map((r) => `${r.method} ${new URL(r.url).pathname}`).slice(0, 1), [`POST /v1/payments/orders/${order.id}/pay-params`], 'renewed first')
  t.equal(await prepays(), 2, 'the prepay was placed again at WeChat Pay')

  const later = await client.createOrder({ productId: product!.id, quantity: 1 })
  const listed = (await client.orders()).orders.find((o) => o.id === later.id)
  t.equal(listed?.status, 'PENDING')
  t.notOk('payParams' in listed!, 'an order from the list has no payParams')
  const fromList = await client.requestPayment({ id: later.id })
  t.equal(fromList.errMsg, 'requestPayment:ok')
  t.equal(fromList.order.status, 'PAID')

  const refused = await client.requestPayment({ id: order.id }).catch((e: unknown) => e)
  t.ok(refused instanceof ApiError)
  t.match(refused, { code: 'ORDER_NOT_PAYABLE', status: 409 })
})

t.test('a paid order: the buyer asks for a refund, which waits for the merchant; an unpaid one is cancelled', async (t) => {
  const p = await phone(t)
  const client = p.launch()
  const [product] = await client.products()
  const order = await client.createOrder({ productId: product!.id, quantity: 1 })
  t.equal((await client.requestPayment(order)).order.status, 'PAID')
  const asked = await client.requestRefund(order.id, { amount: order.amount, reason: '不想要了' })
  t.match(asked, { request: { amount: order.amount, reason: '不想要了', status: 'REQUESTED' }, order: { id: order.id, status: 'REFUND_REQUESTED' } })
  t.equal((await client.order(order.id)).status, 'REFUND_REQUESTED', 'nothing is refunded until the merchant approves')
  const again = await client.requestRefund(order.id, { amount: 1, reason: '再退一点' }).catch((e: unknown) => e)
  t.match(again, { code: 'REFUND_REQUEST_OPEN', status: 409 })

  const unpaid = await client.createOrder({ productId: product!.id, quantity: 1 })
  const cancelled = await client.cancelOrder(unpaid.id)
  t.equal(cancelled.status, 'CLOSED')
  const late = await client.requestPayment(unpaid)
  t.notOk(late.paid, 'a cancelled order cannot be paid')
  t.equal(late.order.status, 'CLOSED')
  t.match(await client.cancelOrder(order.id).catch((e: unknown) => e), { code: 'ORDER_NOT_CLOSABLE', status: 409 })
})

t.test('edit the profile with PUT, bind the phone, log out: the old token is refused', async (t) => {
  const p = await phone(t)
  const client = p.launch()
  await client.me()
  const edited = await client.updateProfile({ nickname: '小程序用户' })
  t.equal(edited.nickname, '小程序用户')
  t.ok(p.bridge.requests.some((r) => r.method === 'PUT' && r.url.endsWith('/v1/users/me')))
  t.equal((await client.me()).nickname, '小程序用户')

  const code = await (await fetch(`${p.stack.sim.url}/sim/phone-code`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ openid: p.bridge.openid, phoneNumber: '13800138000' }) })).json() as { code: string }
  const bound = await client.bindPhone(code.code)
  t.equal(bound.phone, '138****8000')
  t.equal((await client.me()).phone, '138****8000')

  const old = (p.bridge.storage.get(TOKENS) as { accessToken: string }).accessToken
  await client.logout()
  const logout = p.bridge.requests.find((r) => r.url.endsWith('/v1/auth/logout'))
  t.equal(logout?.body, '', 'sent as wx.request sends it: no body')
  t.equal(logout?.header['content-type'], 'application/json')
  t.notOk(p.bridge.storage.has(TOKENS), 'the tokens are forgotten')
  t.equal(await raw(`${p.stack.url}/v1/users/me`, p.stack.ca, old), 401, 'the old token is refused at once')
})

t.test('see the sessions, end another device\'s, delete the account: the old tokens are refused at once, the next launch is a new user', async (t) => {
  const p = await phone(t)
  const client = p.launch()
  const first = await client.me()
  // The same WeChat user on a second phone.
  const tablet = wxBridge({ requestDomains: [p.stack.url], ca: p.stack.ca, simUrl: p.stack.sim.url, openid: p.bridge.openid as string })
  const other = new WxmpClient({ baseUrl: p.stack.url, wx: tablet.wx as any })
  t.equal((await other.me()).id, first.id)

  const sessions = await client.sessions()
  t.equal(sessions.length, 2)
  const mine = sessions.find((s) => s.current)
  const theirs = sessions.find((s) => !s.current)
  t.ok(mine !== undefined && theirs !== undefined, 'one is this phone, one the other')
  await client.revokeSession(theirs?.id as string)
  const end = p.bridge.requests.find((r) => r.method === 'DELETE' && r.url.endsWith(`/v1/auth/sessions/${theirs?.id as string}`))
  t.equal(end?.body, '', 'DELETE sent as wx.request sends it: no body')
  const tabletToken = (tablet.storage.get(TOKENS) as { accessToken: string }).accessToken
  t.equal(await raw(`${p.stack.url}/v1/users/me`, p.stack.ca, tabletToken), 401, 'the other device is refused at once')
  t.same((await client.sessions()).map((s) => s.id), [mine?.id])

  const old = (p.bridge.storage.get(TOKENS) as { accessToken: string }).accessToken
  await client.deleteAccount()
  t.notOk(p.bridge.storage.has(TOKENS), 'the tokens are forgotten')
  t.equal(await raw(`${p.stack.url}/v1/users/me`, p.stack.ca, old), 401, 'the deleted account\'s token is refused at once')
  const next = await p.launch().me()
  t.not(next.id, first.id, 'the same WeChat user comes back as a new account')
  t.equal(next.nickname, null)
})

t.test('errors arrive typed, and wx.request itself refuses PATCH and unconfigured domains as WeChat does', async (t) => {
  const p = await phone(t)
  const client = p.launch()
  const err = await client.updateProfile({ nickname: '' }).catch((e: unknown) => e)
  t.ok(err instanceof ApiError)
  t.match(err, { code: 'VALIDATION_FAILED', status: 400, traceId: /^[0-9a-f]{32}$/ })
  const missing = await client.order('0f8fad5b-d9cb-469f-a165-70867728950e').catch((e: unknown) => e)
  t.match(missing, { status: 404 })

  const wx = p.bridge.wx
  const call = async (o: Record<string, unknown>): Promise<string> => await new Promise((resolve) => {
    wx.request!({ ...o, success: (r: { errMsg: string }) => { resolve(r.errMsg) }, fail: (e: { errMsg: string }) => { resolve(e.errMsg) } })
  })
  t.equal(await call({ url: `${p.stack.url}/v1/users/me`, method: 'PATCH', data: { nickname: 'x' } }), 'request:fail method is invalid')
  t.equal(await call({ url: 'https://example.com/v1/users/me' }), 'request:fail url not in domain list')
  t.equal(await call({ url: p.stack.url.replace('https', 'http') + '/v1/ping' }), 'request:fail url not in domain list')
  t.equal(await call({ url: `${p.stack.url}/v1/ping` }), 'request:ok')

  // A phone that trusts another CA (as a real one trusts only public CAs) refuses the gateway's certificate.
  const stranger = wxBridge({ requestDomains: [p.stack.url], ca: (await selfSignedCert()).cert, simUrl: p.stack.sim.url })
  const refused = await new Promise<string>((resolve) => {
    stranger.wx.request!({ url: `${p.stack.url}/v1/ping`, success: (r: { errMsg: string }) => { resolve(r.errMsg) }, fail: (e: { errMsg: string }) => { resolve(e.errMsg) } })
  })
  t.match(refused, /^request:fail .*(certificate|self-signed|signature)/i, 'only the configured CA is trusted')
})

t.test('an action that needs a recent sign-in gets one transparently: one wx.login, the same session, the request answered', async (t) => {
  const p = await phone(t)
  const client = p.launch()
  const me = await client.me()
  // The sign-in is an hour old (the user has kept the app open), though the tokens are fresh.
  await p.stack.auth.app.pg.pool.query("UPDATE sessions SET auth_time = now() - interval '1 hour' WHERE user_id = $1", [me.id])
  await client.request({ method: 'POST', path: '/v1/auth/refresh', auth: false, data: { refreshToken: (p.bridge.storage.get(TOKENS) as { refreshToken: string }).refreshToken } })
    .then((pair) => { p.bridge.storage.set(TOKENS, { ...(pair as object), expiresAt: Date.now() + 600_000 }) })
  p.bridge.relaunch()
  const bound = await client.request<{ user: { id: string } }>({ method: 'POST', path: '/v1/auth/password/register', data: { username: 'long-session', password: 'long session horse' } })
  t.equal(bound.user.id, me.id, 'the password is bound to the signed-in user')
  t.equal(p.bridge.logins, 1, 'one wx.login for the step-up')
  t.same(p.bridge.requests.map((r) => `${r.method} ${new URL(r.url).pathname}`), [
    'POST /v1/auth/password/register', 'POST /v1/auth/reauth', 'POST /v1/auth/password/register'
  ], 'refused with AUTH_REAUTH_REQUIRED, stepped up, sent again')
})

t.test('virtual goods: wx.requestVirtualPayment with the backend\'s parameters; a session_key WeChat replaced costs one fresh wx.login and a retry', async (t) => {
  const p = await phone(t, { payment: { RECONCILE_AFTER_SECONDS: '0', RECONCILE_INTERVAL_MS: '3600000' } })
  const client = p.launch({ paymentConfirmMs: 500, paymentCheckMs: 500 })
  const first = await client.createOrder({ productId: 'vip-month', quantity: 1 })
  t.equal(first.rail, 'virtual')
  t.ok(first.virtualPayment !== undefined && first.payParams === undefined, 'virtual goods come with wx.requestVirtualPayment parameters')
  t.equal(p.bridge.logins, 1)

  // WeChat replaces the session_key behind the backend's back (a wx.login whose code went elsewhere).
  const renewed = await fetch(`${p.stack.sim.url}/sim/session-key/renew`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ openid: p.bridge.openid }) })
  t.equal(renewed.status, 200)
  const order = await client.createOrder({ productId: 'vip-month', quantity: 1 })
  t.equal(p.bridge.logins, 2, 'one fresh wx.login, no more')
  const posts = p.bridge.requests.filter((r) => r.method === 'POST' && r.url.endsWith('/v1/payments/orders'))
  t.equal(posts.length, 3, 'the order refused with 409 AUTH_SESSION_KEY_STALE was sent once more, after the login')
  t.equal(posts[1]!.header['idempotency-key'], posts[2]!.header['idempotency-key'], 'with the same Idempotency-Key')

  const outcome = await client.requestPayment(order)
  t.equal(outcome.errMsg, 'requestVirtualPayment:ok', 'WeChat accepted the signature made with the new session_key')
  // No message push in this stack: the reconciler finds the payment with query_order.
  await p.stack.payment.app.reconciler.runOnce()
  t.equal((await client.order(order.id)).status, 'PAID')
})
