import t from 'tap'
import { createHmac, createPublicKey } from 'node:crypto'
import { SignJWT, decodeJwt } from 'jose'
import { eventually, testKey } from '@wxmp/testing'
import { call, type Res } from '../helpers/client.js'
import { buildWechatStack, type WechatStack } from './wechat-stack.js'

const post = (body: unknown, token?: string) => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }
})
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

async function login (s: WechatStack): Promise<{ accessToken: string, refreshToken: string, user: { id: string } }> {
  const res = await call(`${s.url}/v1/auth/wechat/login`, post({ code: (await s.wxLogin()).code }))
  return res.json()
}

/** The gateway learns of a revocation through its watch; poll briefly instead of assuming a delay. */
async function refusedSoon (url: string, token: string): Promise<Res> {
  const started = performance.now()
  let requests = 0
  const res = await eventually(async () => { requests++; return await call(url, bearer(token)) }, (r) => r.status === 401, { everyMs: 2 })
  if (res.status === 401) t.comment(`revocation reached the gateway within ${(performance.now() - started).toFixed(1)} ms (${requests} request${requests === 1 ? '' : 's'})`)
  return res
}

t.test('logout refuses the old access token at the gateway; logout-all ends every session', async (t) => {
  const s = await buildWechatStack(t)
  const a = await login(s)
  t.equal((await call(`${s.url}/v1/users/me`, bearer(a.accessToken))).status, 200)
  const out = await call(`${s.url}/v1/auth/logout`, post({}, a.accessToken))
  t.equal(out.status, 200, out.body)
  t.same(out.json(), { revokedSessions: 1 })
  const refused = await refusedSoon(`${s.url}/v1/users/me`, a.accessToken)
  t.equal(refused.status, 401, 'the still-unexpired access token is refused')
  t.type(refused.json().error.code, 'string')
  const refresh = await call(`${s.url}/v1/auth/refresh`, post({ refreshToken: a.refreshToken }))
  t.equal(refresh.status, 401)
  t.equal(refresh.json().error.code, 'AUTH_SESSION_REVOKED')

  // Two devices of one user: logout-all ends both.
  const { openid } = await s.wxLogin()
  const one = (await call(`${s.url}/v1/auth/wechat/login`, post({ code: (await s.wxLogin(openid)).code }))).json()
  const two = (await call(`${s.url}/v1/auth/wechat/login`, post({ code: (await s.wxLogin(openid)).code }))).json()
  t.equal(one.user.id, two.user.id)
  const all = await call(`${s.url}/v1/auth/logout-all`, post({}, one.accessToken))
  t.same(all.json(), { revokedSessions: 2, passwordRemoved: false })
  t.equal((await refusedSoon(`${s.url}/v1/users/me`, two.accessToken)).status, 401, 'the other device is signed out too')
})

t.test('refresh rotates through the gateway; a reused refresh token revokes the family and its access tokens', async (t) => {
  const s = await buildWechatStack(t)
  const first = await login(s)
  const r1 = await call(`${s.url}/v1/auth/refresh`, post({ refreshToken: first.refreshToken }))
  t.equal(r1.status, 200, r1.body)
  const second = r1.json()
  t.not(second.refreshToken, first.refreshToken)
  t.equal(decodeJwt(second.accessToken).sid, decodeJwt(first.accessToken).sid, 'same session')
  // Past the grace, presenting the first token again is theft.
  await s.auth.app.pg.query("UPDATE refresh_tokens SET used_at = used_at - interval '1 minute'")
  const reuse = await call(`${s.url}/v1/auth/refresh`, post({ refreshToken: first.refreshToken }))
  t.equal(reuse.status, 401)
  t.equal(reuse.json().error.code, 'AUTH_REFRESH_REUSED')
  t.equal((await call(`${s.url}/v1/auth/refresh`, post({ refreshToken: second.refreshToken }))).json().error.code, 'AUTH_SESSION_REVOKED')
  t.equal((await refusedSoon(`${s.url}/v1/users/me`, second.accessToken)).status, 401, 'the family\'s access tokens are refused too')
})

t.test('forged, expired, foreign-key, alg:none and HS256-confusion tokens are refused with 401 envelopes', async (t) => {
  const s = await buildWechatStack(t)
  const real = await login(s)
  const claims = decodeJwt(real.accessToken)
  const { header } = { header: JSON.parse(Buffer.from(real.accessToken.split('.')[0]!, 'base64url').toString()) as { kid: string } }
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const foreign = (await testKey(header.kid)).privateKey
  const jwks = (await s.auth.callers.request<{ keys: Array<Record<string, string>> }>('auth.jwks', {}, undefined)).data
  const publicPem = createPublicKey({ key: jwks.keys[0] as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string
  const hsBody = `${b64({ alg: 'HS256', kid: header.kid, typ: 'JWT' })}.${b64(claims)}`
  const tokens: Record<string, string> = {
    'alg none': `${b64({ alg: 'none', kid: header.kid })}.${b64(claims)}.`,
    'HS256 keyed with the public key': `${hsBody}.${createHmac('sha256', publicPem).update(hsBody).digest('base64url')}`,
    'signed by another key under the real kid': await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: header.kid }).sign(foreign),
    expired: await new SignJWT({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 }).setProtectedHeader({ alg: 'ES256', kid: header.kid }).sign(foreign),
    'payload edited': `${real.accessToken.split('.')[0]}.${b64({ ...claims, sub: '00000000-0000-4000-8000-000000000000' })}.${real.accessToken.split('.')[2]}`,
    garbage: 'not.a.jwt',
    empty: ''
  }
  for (const [name, token] of Object.entries(tokens)) {
    const res = await call(`${s.url}/v1/users/me`, bearer(token))
    t.equal(res.status, 401, name)
    t.type(res.json().error?.code, 'string', `${name}: envelope`)
    t.notMatch(res.body, /stack|at .*\.ts/, `${name}: no internals`)
  }
})

t.test('a spoofed x-user-id header does not make a caller someone else', async (t) => {
  const s = await buildWechatStack(t)
  const victim = await login(s)
  const attacker = await login(s)
  const res = await call(`${s.url}/v1/users/me`, { headers: { authorization: `Bearer ${attacker.accessToken}`, 'x-user-id': victim.user.id, 'x-session-id': 'whatever' } })
  t.equal(res.json().id, attacker.user.id)
  const anon = await call(`${s.url}/v1/users/me`, { headers: { 'x-user-id': victim.user.id } })
  t.equal(anon.status, 401)
})

t.test('password login through the gateway: identical answers and lockout with Retry-After', async (t) => {
  const s = await buildWechatStack(t)
  const reg = await call(`${s.url}/v1/auth/password/register`, post({ username: 'kate', password: 'correct horse battery ü' }))
  t.equal(reg.status, 201, reg.body)
  const wrong = await call(`${s.url}/v1/auth/password/login`, post({ username: 'kate', password: 'nope nope nope' }))
  const unknown = await call(`${s.url}/v1/auth/password/login`, post({ username: 'ghost', password: 'nope nope nope' }))
  t.equal(wrong.status, 401)
  t.same({ ...wrong.json().error, traceId: undefined }, { ...unknown.json().error, traceId: undefined }, 'the same answer for a wrong password and an unknown user')
  for (let i = 0; i < 4; i++) await call(`${s.url}/v1/auth/password/login`, post({ username: 'kate', password: 'nope nope nope' }))
  const locked = await call(`${s.url}/v1/auth/password/login`, post({ username: 'kate', password: 'correct horse battery ü' }))
  t.equal(locked.status, 423)
  t.equal(locked.json().error.code, 'AUTH_LOCKED')
  t.match(locked.headers['retry-after'], /^\d+$/)
  const ok = await call(`${s.url}/v1/auth/password/login`, post({ username: 'someone', password: 'x' }))
  t.equal(ok.status, 401)
})

t.test('a WeChat user who registers a password signs in to the same account with it', async (t) => {
  const s = await buildWechatStack(t)
  const wx = await login(s)
  const reg = await call(`${s.url}/v1/auth/password/register`, post({ username: 'liam', password: 'correct horse battery' }, wx.accessToken))
  t.equal(reg.status, 201, reg.body)
  t.equal(reg.json().user.id, wx.user.id, 'bound to the WeChat user')
  const pw = await call(`${s.url}/v1/auth/password/login`, post({ username: 'liam', password: 'correct horse battery' }))
  t.equal(pw.json().user.id, wx.user.id)
})
