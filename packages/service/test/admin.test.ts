import t from 'tap'
import { buildTestService } from '../src/testing.js'
import notesApp, { Schema } from './fixtures/app.js'

function series (text: string, name: string): Array<{ labels: string, value: number }> {
  return text.split('\n').filter((l) => l.startsWith(name + '{') || l.startsWith(name + ' ')).map((l) => {
    const i = l.lastIndexOf(' ')
    return { labels: l.slice(name.length, i), value: Number(l.slice(i + 1)) }
  })
}

t.test('/metrics shows HTTP, NATS, pool, connection and runtime series after traffic', async (t) => {
  const { app } = await buildTestService(t, { name: 'notes', schema: Schema, app: notesApp })
  for (let i = 0; i < 3; i++) await app.natsClient.request('notes.add', { body: `m${i}`, delayMs: 0 }, undefined)
  await app.natsClient.request('notes.add', { body: 1 }, undefined).catch(() => {})
  await app.inject({ method: 'GET', url: '/readyz' })
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/plain/)
  const text = res.body

  const handled = series(text, 'nats_requests_handled_total')
  const ok = handled.find((s) => s.labels.includes('subject="notes.add"') && s.labels.includes('status="200"'))
  const bad = handled.find((s) => s.labels.includes('subject="notes.add"') && s.labels.includes('status="400"'))
  t.ok((ok?.value ?? 0) >= 3, 'successful NATS requests counted by subject and status')
  t.ok((bad?.value ?? 0) >= 1, 'a rejected one too')
  t.ok(series(text, 'nats_request_handle_duration_seconds_bucket').length > 0, 'NATS latency histogram')
  t.ok(series(text, 'nats_client_requests_total').some((s) => s.labels.includes('outcome="ok"')), 'client side too')
  const http = series(text, 'http_requests_total').find((s) => s.labels.includes('route="/readyz"'))
  t.ok((http?.value ?? 0) >= 1, 'HTTP requests by route pattern')
  t.ok(series(text, 'http_request_duration_seconds_count').length > 0)

  const pool = Object.fromEntries(series(text, 'pg_pool_connections').map((s) => [/state="(\w+)"/.exec(s.labels)?.[1], s.value]))
  t.ok(pool.total >= 1 && pool.total <= 10, `pool total ${pool.total} within the configured max`)
  t.equal(pool.waiting, 0, 'nobody queued for a connection')
  t.ok(pool.idle >= 0 && pool.in_use >= 0)
  t.equal(series(text, 'redis_connected')[0]?.value, 1)
  t.equal(series(text, 'nats_connected')[0]?.value, 1)
  t.ok(series(text, 'nodejs_eventloop_lag_seconds').length > 0, 'event-loop delay')
  t.ok((series(text, 'nodejs_heap_size_used_bytes')[0]?.value ?? 0) > 1e6, 'heap in use')
  t.ok(series(text, 'nodejs_gc_duration_seconds_count').length >= 0)
  t.match(text, /service="notes"/, 'every series carries the service label')
})

const TOKEN = 'admin-token-for-tests-0123456789'
const operator = { authorization: `Bearer ${TOKEN}` }

t.test('a CPU profile and a heap snapshot can be taken and parse', async (t) => {
  const { app } = await buildTestService(t, { name: 'notes', schema: Schema, app: notesApp, env: { ADMIN_TOKEN: TOKEN } })
  const cpu = await app.inject({ method: 'GET', url: '/debug/pprof/profile?seconds=1', headers: operator })
  t.equal(cpu.statusCode, 200)
  t.match(cpu.headers['content-disposition'], /\.cpuprofile"/)
  const profile = JSON.parse(cpu.body)
  t.ok(Array.isArray(profile.nodes) && profile.nodes.length > 0, 'V8 CPU profile nodes')
  t.ok(Array.isArray(profile.samples) && profile.startTime < profile.endTime)

  const heap = await app.inject({ method: 'GET', url: '/debug/pprof/heap', headers: operator })
  t.equal(heap.statusCode, 200)
  const snapshot = JSON.parse(heap.body)
  t.ok(snapshot.snapshot.node_count > 1000, 'a heap snapshot with its nodes')
  t.ok(Array.isArray(snapshot.strings))

  const bad = await app.inject({ method: 'GET', url: '/debug/pprof/profile?seconds=100000', headers: operator })
  t.equal(bad.statusCode, 400)
})

t.test('the log level changes at runtime', async (t) => {
  const { app, logs } = await buildTestService(t, { name: 'notes', schema: Schema, app: notesApp, env: { LOG_LEVEL: 'info', ADMIN_TOKEN: TOKEN } })
  await app.natsClient.request('notes.add', { body: 'x', delayMs: 0 }, undefined)
  const before = logs.lines.filter((l) => l.level === 'debug').length
  const res = await app.inject({ method: 'PUT', url: '/debug/log-level', headers: operator, payload: { level: 'debug' } })
  t.same(res.json(), { level: 'debug', previous: 'info' })
  app.log.debug('now visible')
  t.ok(logs.lines.some((l) => l.msg === 'now visible'))
  t.equal(before, 0)
  const invalid = await app.inject({ method: 'PUT', url: '/debug/log-level', headers: operator, payload: { level: 'verbose' } })
  t.equal(invalid.statusCode, 400)
})

t.test('without a configured token the debug routes do not exist; /metrics and the probes stay open', async (t) => {
  const { app } = await buildTestService(t, { name: 'notes', schema: Schema, app: notesApp })
  for (const [method, url] of [['GET', '/debug/pprof/heap'], ['GET', '/debug/pprof/profile?seconds=1'], ['PUT', '/debug/log-level'], ['GET', '/debug/log-level'], ['POST', '/debug/gc']] as const) {
    const res = await app.inject({ method, url, headers: { authorization: 'Bearer anything-at-all-0123456789' } })
    t.equal(res.statusCode, 404, `${method} ${url}`)
  }
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
})

t.test('with a token the debug routes refuse a missing, wrong or differently-sized one, and the level stays put', async (t) => {
  const { app } = await buildTestService(t, { name: 'notes', schema: Schema, app: notesApp, env: { LOG_LEVEL: 'info', ADMIN_TOKEN: TOKEN } })
  for (const headers of [{}, { authorization: `Bearer ${TOKEN.slice(0, -1)}x` }, { authorization: `Bearer ${TOKEN}0` }, { authorization: 'Bearer ' }, { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }]) {
    const heap = await app.inject({ method: 'GET', url: '/debug/pprof/heap', headers })
    t.equal(heap.statusCode, 401, JSON.stringify(headers))
    t.equal(heap.json().error.code, 'UNAUTHENTICATED')
    t.match(heap.headers['www-authenticate'], /^Bearer /)
    const level = await app.inject({ method: 'PUT', url: '/debug/log-level', headers, payload: { level: 'trace' } })
    t.equal(level.statusCode, 401)
  }
  t.equal(app.log.level, 'info', 'no refused request changed the level')
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200, 'metrics need no token')
})

t.test('the token can come from a file, and a short one or both settings at once fail the boot by name', async (t) => {
  const { mkdtempSync, writeFileSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const file = join(mkdtempSync(join(tmpdir(), 'wxmp-admin-')), 'token')
  writeFileSync(file, TOKEN + '\n', { mode: 0o600 })
  const { app } = await buildTestService(t, { name: 'notes', schema: Schema, app: notesApp, env: { ADMIN_TOKEN_FILE: file } })
  t.equal((await app.inject({ method: 'GET', url: '/debug/log-level', headers: operator })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/debug/log-level' })).statusCode, 401)

  await t.rejects(buildTestService(t, { name: 'notes', schema: Schema, app: notesApp, env: { ADMIN_TOKEN: 'short' } }), /ADMIN_TOKEN/)
  await t.rejects(buildTestService(t, { name: 'notes', schema: Schema, app: notesApp, env: { ADMIN_TOKEN: TOKEN, ADMIN_TOKEN_FILE: file } }), /ADMIN_TOKEN/)
})
