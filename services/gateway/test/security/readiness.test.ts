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
