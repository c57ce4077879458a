import t from 'tap'
import { accessToken, identity } from './helpers/tokens.js'
import { bearer, buildEdge, call } from './helpers/edge.js'

const now = (): number => Math.floor(Date.now() / 1000)

t.test('the edge table\'s role column: 403 FORBIDDEN below it, before any service is called', async (t) => {
  const edge = await buildEdge(t)
  const token = async (claims: Record<string, unknown>): Promise<string> => await accessToken(edge.key, identity(), { auth_time: now(), amr: ['pwd', 'otp'], ...claims })

  for (const [claims, route, status] of [
    [{}, '/v1/test/staff', 403],
    [{ role: 'buyer' }, '/v1/test/staff', 403],
    [{ role: 'staff' }, '/v1/test/staff', 200],
    [{ role: 'admin' }, '/v1/test/staff', 200],
    [{ role: 'staff' }, '/v1/test/admin', 403],
    [{ role: 'admin' }, '/v1/test/admin', 200]
  ] as const) {
    const before = edge.seen.length
    const res = await call(`${edge.base}${route}`, { headers: bearer(await token(claims)) })
    t.equal(res.status, status, `${JSON.stringify(claims)} on ${route}: ${status}`)
    if (status === 403) {
      t.equal(res.json().error.code, 'FORBIDDEN', 'in the envelope')
      t.equal(edge.seen.length, before, 'the service never saw it')
    }
  }

  // A role the contract does not know is not a role: the token itself is refused.
  const odd = await call(`${edge.base}/v1/test/staff`, { headers: bearer(await token({ role: 'root' })) })
  t.equal(odd.status, 401, 'an unknown role claim makes the token invalid')
})

t.test('the verified role and last authentication reach the service; a client cannot send its own', async (t) => {
  const edge = await buildEdge(t)
  const authTime = now() - 30
  const res = await call(`${edge.base}/v1/test/whoami`, {
    headers: { ...bearer(await accessToken(edge.key, identity(), { role: 'staff', auth_time: authTime, amr: ['pwd', 'otp'] })), 'x-user-role': 'admin', 'x-auth-time': String(now()), 'x-auth-amr': 'otp' }
  })
  t.equal(res.status, 200)
  t.match(res.json(), { role: 'staff', authTime: String(authTime), amr: 'pwd,otp' }, 'from the token, not the request headers')

  const buyer = await call(`${edge.base}/v1/test/whoami`, { headers: bearer(await accessToken(edge.key, identity())) })
  t.equal(buyer.json().role, 'buyer', 'a token without a role is a buyer\'s')
})

t.test('step-up: a money action needs a recent TOTP sign-in, a credential change a recent sign-in', async (t) => {
  const edge = await buildEdge(t, { STEP_UP_MONEY_S: '300', STEP_UP_CREDENTIALS_S: '120' })
  const send = async (route: string, claims: Record<string, unknown>): Promise<Awaited<ReturnType<typeof call>>> =>
    await call(`${edge.base}${route}`, { method: 'POST', headers: bearer(await accessToken(edge.key, identity(), claims)) })

  const cases: Array<[string, Record<string, unknown>, number, string]> = [
    ['/v1/test/money', { role: 'staff', auth_time: now() - 10, amr: ['pwd', 'otp'] }, 200, 'staff, TOTP 10 s ago'],
    ['/v1/test/money', { role: 'staff', auth_time: now() - 400, amr: ['pwd', 'otp'] }, 401, 'staff, TOTP 400 s ago'],
    ['/v1/test/money', { role: 'staff', auth_time: now() - 10, amr: ['pwd'] }, 401, 'staff, password only'],
    ['/v1/test/money', { role: 'staff' }, 401, 'staff, no auth_time'],
    ['/v1/test/money', { auth_time: now(), amr: ['wechat'] }, 403, 'a fresh buyer: the role comes first'],
    ['/v1/test/credentials', { auth_time: now() - 60, amr: ['wechat'] }, 200, 'a WeChat login a minute ago'],
    ['/v1/test/credentials', { auth_time: now() - 200, amr: ['wechat'] }, 401, 'a WeChat login 200 s ago (window 120 s)']
  ]
  for (const [route, claims, status, what] of cases) {
    const res = await send(route, claims)
    t.equal(res.status, status, `${what}: ${status}`)
    if (status === 401) t.equal(res.json().error.code, 'AUTH_REAUTH_REQUIRED', `${what}: AUTH_REAUTH_REQUIRED`)
  }

  const anonymous = await call(`${edge.base}/v1/test/maybe-credentials`, { method: 'POST' })
  t.equal(anonymous.status, 200, 'an optional route\'s anonymous caller has nothing to step up')
  const stale = await send('/v1/test/maybe-credentials', { auth_time: now() - 1000, amr: ['wechat'] })
  t.equal(stale.status, 401, 'but a signed-in one does')
})
