import t from 'tap'
import { openRevocationBucket } from '@wxmp/nats'
import { bearer, buildEdge, call, eventually } from './helpers/edge.js'
import { accessToken, identity } from './helpers/tokens.js'
import { buildGateway, buildStack } from './helpers/stack.js'

const post = (token: string) => ({ method: 'POST', body: '{}', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } })

t.test('a logout is refused by the gateway that answered it from the moment it answers, every time', async (t) => {
  // Many logins from one address: the login limit is not what this test is about.
  const s = await buildStack(t, { gateway: { RATE_LIMIT_MAX_SCALE: '100' } })
  const base = await s.gateway.listen()
  const reg = await call(`${base}/v1/auth/password/register`, { method: 'POST', body: JSON.stringify({ username: 'judy', password: 'correct horse battery' }), headers: { 'content-type': 'application/json' } })
  t.equal(reg.status, 201, reg.body)
  // Many rounds: the answer used to race the gateway's watch of the bucket and lose now and then.
  for (let i = 0; i < 25; i++) {
    const login = await call(`${base}/v1/auth/password/login`, { method: 'POST', body: JSON.stringify({ username: 'judy', password: 'correct horse battery' }), headers: { 'content-type': 'application/json' } })
    const token = login.json().accessToken as string
    t.equal((await call(`${base}/v1/users/me`, { headers: bearer(token) })).status, 200)
    const out = await call(`${base}/v1/auth/${i % 5 === 4 ? 'logout-all' : 'logout'}`, post(token))
    t.equal(out.status, 200, out.body)
    t.notMatch(out.body, /revocations|sessionId|[0-9a-f]{8}-[0-9a-f]{4}-/, 'the public answer carries no session ids')
    // Read right after the answer on purpose: that is the guarantee, not a state reached later.
    const after = await call(`${base}/v1/users/me`, { headers: bearer(token) })
    t.equal(after.status, 401, `round ${i}: the first request after the answer is refused`)
  }
})

t.test('another gateway refuses it once its health-checked view is current, and says so', async (t) => {
  const s = await buildStack(t)
  const other = await buildGateway(t, s.prefix, { REVOCATION_CHECK_MS: '100' })
  const base = await s.gateway.listen()
  const otherBase = await other.listen()
  await eventually(async () => other.app.edgeAuth.revocations.ready && other.app.edgeAuth.keyring.ready, Boolean)
  const reg = await call(`${base}/v1/auth/password/register`, { method: 'POST', body: JSON.stringify({ username: 'kate', password: 'correct horse battery' }), headers: { 'content-type': 'application/json' } })
  const token = reg.json().accessToken as string
  t.equal((await call(`${otherBase}/v1/users/me`, { headers: bearer(token) })).status, 200)
  t.equal((await call(`${base}/v1/auth/logout`, post(token))).status, 200)
  const refused = await eventually(async () => await call(`${otherBase}/v1/users/me`, { headers: bearer(token) }), (r) => r.status === 401)
  t.equal(refused.status, 401)
  const view = other.app.edgeAuth.revocations
  t.ok(await eventually(() => view.healthy, Boolean), 'its view is confirmed current')
  t.notOk(view.stale)
})

t.test('a gateway whose revocation view cannot be confirmed answers 503 to signed-in requests, then recovers', async (t) => {
  const edge = await buildEdge(t, { REVOCATION_CHECK_MS: '100', REVOCATION_STALE_MS: '500' })
  const who = identity()
  const token = await accessToken(edge.key, who)
  t.equal((await call(`${edge.base}/v1/test/whoami`, { headers: bearer(token) })).status, 200)
  const view = edge.gw.app.edgeAuth.revocations
  t.ok(view.healthy)

  // The bucket goes away: the view can no longer be compared with it, so it may be missing logouts.
  const kv = await openRevocationBucket(edge.nc, edge.prefix, { replicas: 1 })
  await kv.destroy()
  t.ok(await eventually(() => view.stale, Boolean, { timeoutMs: 20_000 }), 'the view goes stale past its bound')
  const res = await eventually(async () => await call(`${edge.base}/v1/test/whoami`, { headers: bearer(token) }), (r) => r.status === 503 || view.healthy)
  t.equal(res.status, 503, 'a signed-in request is not trusted to an unconfirmed view')
  t.equal(res.json().error.code, 'SESSION_CHECK_UNAVAILABLE')
  t.ok(Number(res.headers['retry-after']) >= 1, 'with Retry-After')
  t.equal((await call(`${edge.base}/v1/test/open`)).status, 200, 'public routes still answer')

  // The bucket is back (recreated empty, as after losing its store); the watch reopens and the view is current again.
  await openRevocationBucket(edge.nc, edge.prefix, { replicas: 1 })
  t.ok(await eventually(() => view.healthy, Boolean, { timeoutMs: 20_000 }), 'healthy again')
  t.equal((await call(`${edge.base}/v1/test/whoami`, { headers: bearer(token) })).status, 200)
})
