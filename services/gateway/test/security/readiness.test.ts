import t from 'tap'
import { accessToken } from '@wxmp/testing'
import { bearer, buildEdge, call, eventually } from '../helpers/edge.js'
import { jwksResponder } from '../helpers/tokens.js'

// Regression: `npm start` then `npm run demo` failed GET /v1/users/me with 503 "auth is unavailable" while /readyz
// already said 200, because readiness did not wait for the signing keys.
t.test('/readyz answers 200 only once an authenticated request can be served', async (t) => {
  const edge = await buildEdge(t, {}, { jwks: false })
  const before = await call(`${edge.base}/readyz`)
  t.equal(before.status, 503, 'no signing keys yet: not ready')
  t.equal(before.json().checks['signing-keys'], 'down')

  await jwksResponder(t, edge.prefix, [edge.key])
  await eventually(async () => await call(`${edge.base}/readyz`), (r) => r.status === 200)
  // The very first request after readiness, with no wait: it must be judged, not refused as unavailable.
  const res = await call(`${edge.base}/v1/test/whoami`, { headers: bearer(await accessToken(edge.key)) })
  t.equal(res.status, 200)
  t.ok(res.json().userId)
})

t.test('a revocation watch that dies turns readiness red', async (t) => {
  const { pino } = await import('pino')
  const { natsPrefix } = await import('@wxmp/testing')
  const { connectAs } = await import('@wxmp/service/testing')
  const { createRevocationBucket } = await import('@wxmp/nats')
  const { Revocations } = await import('../../src/auth/revocations.js')
  const prefix = natsPrefix()
  // Auth creates the bucket; the gateway may only open and watch it.
  await createRevocationBucket(await connectAs(t, 'auth', prefix), prefix)
  const nc = await connectAs(t, 'gateway', prefix)
  const revocations = new Revocations({ nc, prefix, log: pino({ level: 'silent' }), retryMs: 50, replicas: 1, checkMs: 1000, staleMs: 10000 })
  t.teardown(async () => { await revocations.stop() })
  revocations.start()
  t.equal(await eventually(async () => revocations.live, Boolean), true, 'live once caught up')

  await nc.close()
  t.equal(await eventually(async () => revocations.live, (live) => !live), false, 'red once the watch has died')
  t.equal(revocations.ready, true, 'what was loaded is kept')
})
