import t from 'tap'
import { privateRedis, redisPrefix } from '@wxmp/testing'
import { bearer, buildEdge, call, eventually } from './helpers/edge.js'
import { accessToken, identity } from './helpers/tokens.js'

const num = (v: unknown): number => Number(v)

t.test('a client over its limit gets 429 in the envelope with Retry-After and RateLimit headers', async (t) => {
  const edge = await buildEdge(t, { RATE_LIMIT_DEFAULT_MAX: '3' })
  const remaining: number[] = []
  for (let i = 0; i < 3; i++) {
    const res = await call(`${edge.base}/v1/test/open`)
    t.equal(res.status, 200)
    t.equal(num(res.headers['ratelimit-limit']), 3)
    t.ok(num(res.headers['ratelimit-reset']) > 0 && num(res.headers['ratelimit-reset']) <= 60, 'reset within the window')
    remaining.push(num(res.headers['ratelimit-remaining']))
  }
  t.same(remaining, [2, 1, 0])
  const seenBefore = edge.seen.length
  const res = await call(`${edge.base}/v1/test/open`)
  t.equal(res.status, 429)
  t.equal(res.json().error.code, 'RATE_LIMITED')
  t.equal(res.json().error.traceId, String(res.headers.traceparent).split('-')[1])
  t.ok(num(res.headers['retry-after']) > 0, 'Retry-After in seconds')
  t.equal(num(res.headers['ratelimit-remaining']), 0)
  t.equal(num(res.headers['ratelimit-limit']), 3)
  t.equal(edge.seen.length, seenBefore, 'a refused request never reaches a service')
  t.equal((await call(`${edge.base}/healthz`)).status, 200, 'probes are never limited')
})

t.test('login-class routes have a stricter per-IP limit than the rest', async (t) => {
  const edge = await buildEdge(t, { RATE_LIMIT_DEFAULT_MAX: '50', RATE_LIMIT_LOGIN_MAX: '2' })
  const post = async (): Promise<number> => (await call(`${edge.base}/v1/test/echo`, { method: 'POST', body: '{"a":1}' })).status
  t.same([await post(), await post(), await post()], [200, 200, 429])
  t.equal((await call(`${edge.base}/v1/test/open`)).status, 200, 'other routes still answer')
})

t.test('each authenticated user has a limit of their own, counted after verification', async (t) => {
  const edge = await buildEdge(t, { RATE_LIMIT_DEFAULT_MAX: '50', RATE_LIMIT_USER_MAX: '2' })
  const alice = await accessToken(edge.key, identity())
  const bob = await accessToken(edge.key, identity())
  const get = async (token: string): Promise<number> => (await call(`${edge.base}/v1/test/whoami`, { headers: bearer(token) })).status
  t.same([await get(alice), await get(alice), await get(alice)], [200, 200, 429])
  t.equal(await get(bob), 200, 'another user behind the same address is not affected')
  const res = await call(`${edge.base}/v1/test/whoami`, { headers: bearer(alice) })
  t.equal(res.json().error.code, 'RATE_LIMITED')
})

t.test('two gateway replicas share one limit through Redis', async (t) => {
  const shared = { RATE_LIMIT_DEFAULT_MAX: '4', REDIS_KEY_PREFIX: redisPrefix() }
  const a = await buildEdge(t, shared)
  const b = await buildEdge(t, shared)
  const statuses = []
  for (const base of [a.base, b.base, a.base, b.base, a.base, b.base]) statuses.push((await call(`${base}/v1/test/open`)).status)
  t.same(statuses, [200, 200, 200, 200, 429, 429])
})

t.test('with Redis down, limits fail open to per-replica counters and return to Redis when it is back', async (t) => {
  const redis = await privateRedis(t)
  const edge = await buildEdge(t, { REDIS_URL: redis.url, RATE_LIMIT_DEFAULT_MAX: '3' })
  t.equal((await call(`${edge.base}/v1/test/open`)).status, 200)
  t.equal(edge.gw.app.edgeLimits.state.fallback, false)

  await redis.stop()
  const down = []
  for (let i = 0; i < 4; i++) down.push((await call(`${edge.base}/v1/test/open`)).status)
  t.same(down, [200, 200, 200, 429], 'still served, and still limited, by the local counter')
  t.equal(edge.gw.app.edgeLimits.state.fallback, true)
  const ready = await call(`${edge.base}/readyz`)
  t.equal(ready.status, 503, 'readiness reports Redis down')
  t.same(ready.json().down, ['redis'])

  await redis.start()
  await eventually(async () => edge.gw.app.redis.status, (s) => s === 'ready', { everyMs: 100 })
  const back = await call(`${edge.base}/v1/test/open`)
  t.equal(back.status, 200, 'a fresh Redis counts from zero')
  t.equal(num(back.headers['ratelimit-remaining']), 2)
  t.equal(edge.gw.app.edgeLimits.state.fallback, false)
})

t.test('RATE_LIMIT_MAX_SCALE raises every limit for benchmarks while the limiter keeps counting', async (t) => {
  const edge = await buildEdge(t, { RATE_LIMIT_DEFAULT_MAX: '2', RATE_LIMIT_MAX_SCALE: '50' })
  const first = await call(`${edge.base}/v1/test/open`)
  const second = await call(`${edge.base}/v1/test/open`)
  t.equal(num(first.headers['ratelimit-limit']), 100)
  t.equal(num(first.headers['ratelimit-remaining']), 99)
  t.equal(num(second.headers['ratelimit-remaining']), 98, 'every request is counted')
})

t.test('guessing tokens counts against the address: past the limit a bad token gets 429, not another try', async (t) => {
  const edge = await buildEdge(t, { RATE_LIMIT_DEFAULT_MAX: '2' })
  const statuses = []
  for (let i = 0; i < 3; i++) statuses.push((await call(`${edge.base}/v1/test/whoami`, { headers: bearer(`eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIke2l9In0.${i}`) })).status)
  t.same(statuses, [401, 401, 429])
})
