import t from 'tap'
import { eventually } from '@wxmp/testing'
import { buildStack } from '../helpers/stack.js'

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'

t.test('GET /v1/ping answers from every service over NATS', async (t) => {
  const stack = await buildStack(t)
  const res = await stack.gateway.app.inject({ method: 'GET', url: '/v1/ping' })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.same(Object.keys(body).sort(), ['auth', 'gateway', 'payment', 'user'])
  for (const name of ['gateway', 'auth', 'user', 'payment']) {
    t.equal(body[name].name, name)
    t.match(body[name].version, /^\d+\.\d+\.\d+/)
  }
})

t.test('an incoming traceparent is continued through every service and returned', async (t) => {
  const stack = await buildStack(t)
  const res = await stack.gateway.app.inject({
    method: 'GET',
    url: '/v1/ping',
    headers: { traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01`, 'x-request-id': 'req-abc-123' }
  })
  t.equal(res.statusCode, 200)
  const tp = String(res.headers.traceparent)
  t.match(tp, new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`), 'same trace id comes back')
  t.not(tp.split('-')[2], '00f067aa0ba902b7', 'with the gateway\'s own span id')
  t.equal(res.headers['x-request-id'], 'req-abc-123')

  for (const [name, logs] of [['gateway', stack.gateway.logs], ['auth', stack.auth.logs], ['user', stack.user.logs], ['payment', stack.payment.logs]] as const) {
    // a service may still be writing its line after the gateway has answered
    const lines = await eventually(() => logs.lines.filter((l) => l.trace_id === TRACE_ID), (ls) => ls.length > 0)
    t.ok(lines.length > 0, `${name} logged the request with the trace id`)
    for (const l of lines) {
      t.equal(l.service, name)
      t.equal(l.request_id, 'req-abc-123')
      t.match(l.span_id, /^[0-9a-f]{16}$/)
      t.type(l.time, 'string')
      t.type(l.msg, 'string')
    }
  }
})

t.test('an invalid traceparent starts a new trace, also returned', async (t) => {
  const stack = await buildStack(t)
  const res = await stack.gateway.app.inject({
    method: 'GET',
    url: '/v1/ping',
    headers: { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }
  })
  t.equal(res.statusCode, 200)
  const tp = String(res.headers.traceparent)
  t.match(tp, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
  const traceId = tp.split('-')[1] as string
  t.not(traceId, '0'.repeat(32))
  t.ok(await eventually(() => stack.user.logs.lines.some((l) => l.trace_id === traceId), Boolean), 'the services carry the new trace')
  t.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'a request id is generated')
})
