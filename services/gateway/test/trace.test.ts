import t from 'tap'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { bearer, buildEdge, call, eventually } from './helpers/edge.js'
import { accessToken } from './helpers/tokens.js'
import { createTracing } from '../src/telemetry.js'

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT = '00f067aa0ba902b7'

t.test('over TLS a valid traceparent is continued to the service and returned, with tracestate and x-request-id', async (t) => {
  const edge = await buildEdge(t)
  const res = await call(`${edge.base}/v1/test/open`, {
    headers: { traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7', 'x-request-id': 'req-42' }
  })
  t.equal(res.status, 200)
  const [, traceId, spanId] = String(res.headers.traceparent).split('-')
  t.equal(traceId, TRACE)
  t.not(spanId, PARENT)
  t.equal(res.headers['x-request-id'], 'req-42')
  const seen = res.json()
  t.match(seen.traceparent, new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`), 'the service continues the same trace')
  t.not(seen.traceparent.split('-')[2], spanId, 'as a child of the gateway span')
  t.equal(seen.tracestate, 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7')
  t.equal(seen.requestId, 'req-42')
  // fastify logs the completed request once the response has finished, which the client may see first
  const line = await eventually(() => edge.gw.logs.lines.find((l) => l.msg === 'request completed' && l.trace_id === TRACE), (l) => l !== undefined)
  t.equal(line?.span_id, spanId, 'the gateway\'s log line carries the span it returned')
})

t.test('an invalid traceparent starts a new trace; oversize tracestate and bad request ids are dropped', async (t) => {
  const edge = await buildEdge(t)
  for (const bad of [
    `ff-${TRACE}-${PARENT}-01`,
    `00-${'0'.repeat(32)}-${PARENT}-01`,
    `00-${TRACE}-${'0'.repeat(16)}-01`,
    `00-${TRACE.slice(1)}-${PARENT}-01`,
    `00-${TRACE.toUpperCase()}-${PARENT}-01`
  ]) {
    const res = await call(`${edge.base}/v1/test/open`, { headers: { traceparent: bad, tracestate: 'a=1', 'x-request-id': 'bad id with spaces' } })
    const traceId = String(res.headers.traceparent).split('-')[1]
    t.match(traceId, /^[0-9a-f]{32}$/, bad)
    t.not(traceId, TRACE, `${bad}: new trace`)
    t.equal(res.json().traceparent.split('-')[1], traceId, `${bad}: the service is on the new trace`)
    t.equal(res.json().tracestate, null, `${bad}: tracestate of a discarded parent is dropped`)
    t.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/, `${bad}: request id generated`)
  }
  const members = Array.from({ length: 40 }, (_, i) => `k${i}=v${i}`).join(',')
  const res = await call(`${edge.base}/v1/test/open`, { headers: { traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: members } })
  const forwarded = String(res.json().tracestate).split(',')
  t.equal(forwarded.length, 32, 'at most 32 tracestate members travel on')
  t.equal(forwarded[0], 'k0=v0', 'the leftmost (most recent) members are kept')
})

t.test('with an OTLP endpoint, spans are exported on the same trace and span ids the logs and headers carry', async (t) => {
  const batches: any[] = []
  const collector = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c) => { body += c })
    req.on('end', () => { try { batches.push(JSON.parse(body)) } catch { batches.push({ raw: body }) } res.writeHead(200, { 'content-type': 'application/json' }).end('{}') })
  })
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve))
  t.teardown(() => collector.close())
  const tracing = createTracing({ endpoint: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`, serviceName: 'gateway', serviceVersion: '0.0.0' })
  t.ok(tracing)
  const edge = await buildEdge(t, {}, { extras: { tracing } })
  t.teardown(async () => { await tracing?.shutdown() })
  const token = await accessToken(edge.key)
  const continued = await call(`${edge.base}/v1/test/whoami`, { headers: { ...bearer(token), traceparent: `00-${TRACE}-${PARENT}-01` } })
  const fresh = await call(`${edge.base}/v1/test/open`, { headers: { traceparent: 'garbage' } })
  t.equal(continued.status, 200)
  t.equal(fresh.status, 200)
  await tracing?.shutdown()

  const spans = await eventually(async () => batches.flatMap((b) => (b.resourceSpans ?? []).flatMap((r: any) => r.scopeSpans.flatMap((s: any) => s.spans))), (s) => s.length >= 4)
  const hex = (v: string): string => /^[0-9a-f]+$/.test(v) ? v : Buffer.from(v, 'base64').toString('hex')
  const byTrace = (id: string): any[] => spans.filter((s) => hex(s.traceId) === id)
  for (const [res, label] of [[continued, 'continued'], [fresh, 'restarted']] as const) {
    const [, traceId, spanId] = String(res.headers.traceparent).split('-') as [string, string, string]
    const mine = byTrace(traceId)
    const request = mine.find((s) => s.name === 'request')
    t.ok(request, `${label}: the HTTP span is on the trace the client got back`)
    t.equal(hex(request?.spanId ?? ''), spanId, `${label}: with the span id in the response traceparent`)
    const nats = mine.find((s) => String(s.name).startsWith('nats '))
    t.ok(nats, `${label}: a span covers the NATS request`)
    t.equal(res.json().traceparent.split('-')[2], hex(nats?.spanId ?? ''), `${label}: the service's parent is the NATS span`)
  }
  const root = byTrace(String(continued.headers.traceparent).split('-')[1] as string).find((s) => s.name === 'request')
  t.equal(hex(root?.parentSpanId ?? ''), PARENT, 'the continued trace keeps the caller as parent')
})
