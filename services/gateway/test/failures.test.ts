import t from 'tap'
import { natsPrefix } from '@wxmp/testing'
import { buildGateway, buildStack } from './helpers/stack.js'
import { buildEdge, call, eventually } from './helpers/edge.js'
import { connectAs } from '@wxmp/service/testing'

t.test('a service that is down answers 503 in the envelope', async (t) => {
  const gw = await buildGateway(t, natsPrefix())
  const res = await gw.app.inject({ method: 'GET', url: '/v1/ping' })
  t.equal(res.statusCode, 503)
  const { error } = res.json()
  t.equal(error.code, 'SERVICE_UNAVAILABLE')
  t.match(error.message, /unavailable/)
  t.equal(error.traceId, String(res.headers.traceparent).split('-')[1])
})

t.test('a service that is too slow answers 504 in the envelope', async (t) => {
  const prefix = natsPrefix()
  const gw = await buildGateway(t, prefix, { NATS_REQUEST_TIMEOUT_MS: '300' })
  for (const svc of ['auth', 'user', 'payment'] as const) {
    const nc = await connectAs(t, svc, prefix)
    nc.subscribe(`${prefix}${svc}.ping`, {
      callback: (_err, msg) => {
        const reply = JSON.stringify({ name: svc, version: '0.0.0' })
        setTimeout(() => msg.respond(reply), svc === 'user' ? 1000 : 0)
      }
    })
    await nc.flush()
  }
  const res = await gw.app.inject({ method: 'GET', url: '/v1/ping' })
  t.equal(res.statusCode, 504)
  t.equal(res.json().error.code, 'UPSTREAM_TIMEOUT')
  t.match(res.json().error.message, /user/)
})

t.test('unknown routes answer a 404 envelope', async (t) => {
  const gw = await buildGateway(t, natsPrefix())
  const res = await gw.app.inject({ method: 'GET', url: '/v1/nothing-here' })
  t.equal(res.statusCode, 404)
  t.equal(res.json().error.code, 'NOT_FOUND')
})

t.test('the gateway is ready only when Redis and NATS are', async (t) => {
  const stack = await buildStack(t)
  const res = await eventually(async () => await stack.gateway.app.inject({ method: 'GET', url: '/readyz' }), (r) => r.statusCode === 200)
  t.equal(res.statusCode, 200)
  t.same(res.json().checks, { redis: 'ok', nats: 'ok', 'signing-keys': 'ok', revocations: 'ok' })
})

t.test('over real TLS: no responders 503, a slow service 504 within its route timeout, both in the envelope', async (t) => {
  const edge = await buildEdge(t)
  const none = await call(`${edge.base}/v1/ping`)
  t.equal(none.status, 503)
  t.equal(none.json().error.code, 'SERVICE_UNAVAILABLE')
  const slow = await call(`${edge.base}/v1/test/slow`)
  t.equal(slow.status, 504, 'the slow route\'s own 300 ms timeout applies, not the 2 s default')
  t.equal(slow.json().error.code, 'UPSTREAM_TIMEOUT')
  t.equal(slow.json().error.traceId, String(slow.headers.traceparent).split('-')[1])
})

t.test('ROUTE_TIMEOUTS_MS overrides a route\'s timeout per deployment', async (t) => {
  const edge = await buildEdge(t, { ROUTE_TIMEOUTS_MS: 'GET /v1/test/slow=3000' })
  const slow = await call(`${edge.base}/v1/test/slow`)
  t.equal(slow.status, 200)
  t.same(slow.json(), { slow: true })
})

t.test('bodies over a route\'s limit are refused with 413 before any service sees them', async (t) => {
  const edge = await buildEdge(t, { RATE_LIMIT_LOGIN_MAX: '100' })
  const small = await call(`${edge.base}/v1/test/echo`, { method: 'POST', body: JSON.stringify({ a: 'x'.repeat(500) }) })
  t.equal(small.status, 200)
  t.equal(small.json().a.length, 500)
  const big = await call(`${edge.base}/v1/test/echo`, { method: 'POST', body: JSON.stringify({ a: 'x'.repeat(2000) }) })
  t.equal(big.status, 413)
  t.equal(big.json().error.code, 'PAYLOAD_TOO_LARGE')
  const notJson = await call(`${edge.base}/v1/test/echo`, { method: 'POST', body: '{"a":', headers: { 'content-type': 'application/json' } })
  t.equal(notJson.status, 400)
  t.equal(notJson.json().error.code, 'BAD_REQUEST')
})

function busy (ms: number): void {
  const until = Date.now() + ms
  while (Date.now() < until) { /* hold the event loop, as a CPU-bound bug would */ }
}

t.test('a blocked event loop sheds new requests with 503 OVERLOADED and Retry-After, probes still answer', async (t) => {
  const edge = await buildEdge(t, { PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '30', PRESSURE_SAMPLE_INTERVAL_MS: '50', PRESSURE_RETRY_AFTER_S: '7' })
  // a busy machine alone can delay the loop past 30 ms for a moment: start from a calm loop
  t.equal((await eventually(async () => await call(`${edge.base}/v1/test/open`), (r) => r.status === 200, { everyMs: 50 })).status, 200)
  const blocker = setInterval(() => busy(120), 10)
  let shed
  let probe
  try {
    shed = await eventually(async () => await call(`${edge.base}/v1/test/open`), (r) => r.status === 503, { everyMs: 0 })
    probe = await call(`${edge.base}/healthz`)
  } finally {
    clearInterval(blocker)
  }
  t.equal(shed.status, 503)
  t.equal(shed.json().error.code, 'OVERLOADED')
  t.equal(shed.headers['retry-after'], '7')
  t.equal(probe.status, 200, 'liveness is not shed')
  const after = await eventually(async () => await call(`${edge.base}/v1/test/open`), (r) => r.status === 200, { everyMs: 50 })
  t.equal(after.status, 200, 'served again once the loop is free')
})
