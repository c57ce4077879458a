import t from 'tap'
import { contextFromHeaders, parseTraceparent, sanitizeTracestate, acceptRequestId } from '../src/trace-context.js'

const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

t.test('a valid traceparent is continued with a new span', async (t) => {
  const ctx = contextFromHeaders((n) => (n === 'traceparent' ? VALID : undefined))
  t.equal(ctx.traceId, '4bf92f3577b34da6a3ce929d0e0e4736')
  t.equal(ctx.parentSpanId, '00f067aa0ba902b7')
  t.not(ctx.spanId, '00f067aa0ba902b7')
  t.match(ctx.spanId, /^[0-9a-f]{16}$/)
  t.equal(ctx.traceFlags, '01')
})

t.test('invalid traceparents start a new trace', async (t) => {
  const bad = [
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', // forbidden version
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01', // all-zero trace id
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', // all-zero parent id
    '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01', // trace id too short
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01', // span id too short
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01', // upper case
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra', // version 00 has no more fields
    'garbage',
    ''
  ]
  for (const header of bad) {
    t.equal(parseTraceparent(header), undefined, header)
    const ctx = contextFromHeaders((n) => (n === 'traceparent' ? header : undefined))
    t.not(ctx.traceId, '4bf92f3577b34da6a3ce929d0e0e4736', `new trace for ${header}`)
    t.equal(ctx.parentSpanId, undefined)
  }
})

t.test('a future version is parsed by its first four fields', async (t) => {
  t.same(parseTraceparent('cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds'),
    { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', traceFlags: '01' })
})

t.test('tracestate keeps valid members within the limits', async (t) => {
  t.equal(sanitizeTracestate('congo=t61rcWkgMzE, rojo=00f067aa0ba902b7'), 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7')
  t.equal(sanitizeTracestate('not a member'), undefined)
  t.equal(sanitizeTracestate('a=1,a=2'), undefined, 'duplicate keys make the header invalid')
  const many = Array.from({ length: 40 }, (_, i) => `k${i}=v${i}`).join(',')
  t.equal(sanitizeTracestate(many)?.split(',').length, 32)
  const long = Array.from({ length: 10 }, (_, i) => `k${i}=${'x'.repeat(100)}`).join(',')
  t.ok((sanitizeTracestate(long) ?? '').length <= 512)
})

t.test('x-request-id is accepted when well-formed, replaced otherwise', async (t) => {
  t.equal(acceptRequestId('abc-123'), 'abc-123')
  t.match(acceptRequestId('bad id\r\nx-injected: 1'), /^[0-9a-f-]{36}$/)
  t.match(acceptRequestId('x'.repeat(200)), /^[0-9a-f-]{36}$/)
  t.match(acceptRequestId(undefined), /^[0-9a-f-]{36}$/)
})
