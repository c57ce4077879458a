import t from 'tap'
import { buildTestService } from '../src/testing.js'
import { eventually, privateNats, privateRedis, proxiedTestDatabase } from '@wxmp/testing'
import notesApp, { Schema } from './fixtures/app.js'

async function readyz (app: Awaited<ReturnType<typeof buildTestService>>['app']) {
  const res = await app.inject({ method: 'GET', url: '/readyz' })
  return { status: res.statusCode, body: res.json() }
}

// Reconnecting to a restarted server takes a few backoff rounds.
const SLOW = { timeoutMs: 15_000, everyMs: 100 }

t.test('readiness names the dependency that went away and recovers when it returns', async (t) => {
  const redis = await privateRedis(t)
  // notes is a fixture service, not an identity of the matrix: its private server admits it without credentials.
  const nats = await privateNats(t, { anonymous: true })
  const { url: dbUrl, proxy: pgProxy } = await proxiedTestDatabase(t, 'ready')
  const { app } = await buildTestService(t, {
    name: 'notes',
    schema: Schema,
    app: notesApp,
    env: { DATABASE_URL: dbUrl, REDIS_URL: redis.url, NATS_URL: nats.url }
  })

  const healthy = await readyz(app)
  t.equal(healthy.status, 200)
  t.same(healthy.body.checks, { postgres: 'ok', redis: 'ok', nats: 'ok' })

  for (const [name, stop, start] of [
    ['redis', redis.stop, redis.start],
    ['nats', nats.stop, nats.start],
    ['postgres', pgProxy.cut, pgProxy.restore]
  ] as const) {
    await stop()
    const down = await eventually(async () => {
      const r = await readyz(app)
      return r.status === 503 && r.body.down.length === 1 && r.body.down[0] === name
    }, Boolean, SLOW)
    t.ok(down, `${name} down -> 503 naming it`)
    const live = await app.inject({ method: 'GET', url: '/healthz' })
    t.equal(live.statusCode, 200, 'liveness stays up: restarting would not help')
    await start()
    t.ok(await eventually(async () => (await readyz(app)).status === 200, Boolean, SLOW), `${name} back -> 200`)
  }
})

t.test('migrations ran once and the pool serves the endpoint', async (t) => {
  const { app } = await buildTestService(t, { name: 'notes', schema: Schema, app: notesApp })
  const { rows } = await app.pg.query('SELECT name FROM pgmigrations')
  t.same(rows.map((r) => r.name), ['1764200000000_notes'])
  const res = await app.natsClient.request<{ id: number }>('notes.add', { body: 'hello', delayMs: 0 }, undefined)
  t.equal(res.data.id, 1)
})
