import t from 'tap'
import { connect } from '@nats-io/transport-node'
import { natsPrefix } from '@wxmp/testing'
import { buildGateway, buildStack } from './helpers/stack.js'
import { eventually } from './helpers/client.js'

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
  const nc = await connect({ servers: gw.config.NATS_URL })
  t.teardown(async () => { await nc.close() })
  for (const svc of ['auth', 'user', 'payment']) {
    nc.subscribe(`${prefix}${svc}.ping`, {
      callback: (_err, msg) => {
        const reply = JSON.stringify({ name: svc, version: '0.0.0' })
        setTimeout(() => msg.respond(reply), svc === 'user' ? 1000 : 0)
      }
    })
  }
  await nc.flush()
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
  t.same(res.json().checks, { redis: 'ok', nats: 'ok', revocations: 'ok' })
})
