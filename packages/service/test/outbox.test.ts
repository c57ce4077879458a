import t from 'tap'
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { jetstream } from '@nats-io/jetstream'
import { Events } from '@wxmp/contracts'
import { createLogger, migrate, withTransaction } from '@wxmp/core'
import { ensureEventsStream } from '@wxmp/nats'
import { LogCollector, eventually, natsPrefix, tcpProxy, testDatabase, waitFor, type Teardown } from '@wxmp/testing'
import { OUTBOX_MIGRATIONS_DIR, OutboxRelay, enqueueEvent } from '../src/index.js'
import { connectAs, connectOperator, readEvents } from '../src/testing.js'

// Longer than any wait below: an event that arrives was woken by its commit, not found by the safety-net poll.
const NO_POLL_MS = 10 * 60_000

/** A migrated database and a relay that only ever wakes on notifications (its poll is beyond the test). */
async function setup (t: Teardown, opts: { listenPort?: number, withoutStream?: boolean } = {}) {
  const url = await testDatabase(t, 'outbox')
  const listenVia = new URL(url)
  if (opts.listenPort !== undefined) listenVia.port = String(opts.listenPort)
  await migrate(url, [OUTBOX_MIGRATIONS_DIR])
  const pool = new pg.Pool({ connectionString: url, max: 4 })
  t.teardown(async () => { await pool.end() })
  const prefix = natsPrefix()
  // The relay publishes user events as the user service does, on the authorized test server; the test reads the
  // stream as its operator (no service identity may read EVENTS' messages).
  const nc = await connectAs(t, 'user', prefix)
  const operator = await connectOperator(t, prefix)
  if (opts.withoutStream !== true) await ensureEventsStream(nc, prefix, { replicas: 1 })
  const logs = new LogCollector()
  const relay = new OutboxRelay({
    pool,
    connectionString: listenVia.toString(),
    js: jetstream(nc),
    prefix,
    log: createLogger({ service: 'outbox-test', level: 'debug', stream: logs }),
    pollMs: NO_POLL_MS,
    reconnectMs: 100,
    backoffMs: 50,
    maxBackoffMs: 400
  })
  await relay.start()
  t.teardown(async () => { await relay.stop() })
  const created = (userId: string) => ({ userId, appid: null, createdAt: new Date().toISOString() })
  const events = async (atLeast: number) => await readEvents(operator, prefix, Events.userCreated.subject, { atLeast, waitMs: 20_000 })
  return { pool, relay, logs, created, events, nc, prefix }
}

t.test('an event enqueued in a committed transaction is published without anyone waking the relay', async (t) => {
  const { pool, created, events } = await setup(t)
  t.same((await pool.query('SELECT name FROM pgmigrations')).rows, [{ name: '1764200000001_outbox' }], 'the outbox table comes from the shared migration')
  const userId = randomUUID()
  const id = await withTransaction(pool, async (client) => await enqueueEvent(client, Events.userCreated, created(userId)))
  const published = await events(1)
  t.match(published, [{ id, userId, appid: null }])
  // The relay marks the row in the transaction that read it, which commits after the publish the stream showed.
  const marked = await eventually(async () => (await pool.query('SELECT published_at FROM outbox WHERE id = $1', [id])).rows[0]?.published_at, (at) => at !== null)
  t.not(marked, null, 'and marked published')
})

t.test('an event enqueued in a transaction that rolls back is never published', async (t) => {
  const { pool, created, events } = await setup(t)
  const lost = randomUUID()
  await t.rejects(withTransaction(pool, async (client) => {
    await enqueueEvent(client, Events.userCreated, created(lost))
    throw new Error('the state change failed')
  }), /the state change failed/)
  // A later committed event goes out: the relay has run since the rollback, and still only that one is there.
  const kept = randomUUID()
  await withTransaction(pool, async (client) => await enqueueEvent(client, Events.userCreated, created(kept)))
  const published = await events(1)
  t.same(published.map((e) => e.userId), [kept])
  t.equal((await pool.query('SELECT count(*)::int AS n FROM outbox')).rows[0].n, 1, 'the rolled-back row never existed')
})

t.test('a producer whose payload drifted from the event schema fails before anything is written', async (t) => {
  const { pool } = await setup(t)
  const drifted: Array<[string, { orderId?: string, amount?: number, paidAt?: string }]> = [
    ['an id that is not a uuid', { orderId: 'order-1' }],
    ['an amount below one fen', { amount: 0 }],
    ['a time that is not RFC 3339', { paidAt: 'yesterday' }]
  ]
  for (const [label, change] of drifted) {
    const payload = {
      orderId: randomUUID(),
      userId: randomUUID(),
      outTradeNo: 'T1',
      transactionId: '4200000001',
      productId: 'latte',
      quantity: 1,
      amount: 1800,
      paidAt: new Date().toISOString(),
      ...change
    }
    await t.rejects(withTransaction(pool, async (client) => await enqueueEvent(client, Events.paymentSucceeded, payload)),
      { name: 'TypeError', message: /events\.payment\.succeeded payload does not match its schema/ }, label)
  }
  t.equal((await pool.query('SELECT count(*)::int AS n FROM outbox')).rows[0].n, 0, 'nothing reached the outbox')
})

t.test('the relay listens again after losing its connection, and catches up on what committed meanwhile', async (t) => {
  // The pool goes straight to Postgres; only the relay's LISTEN connection runs through the proxy.
  const proxy = await tcpProxy(t, 5432)
  const { pool, created, events, logs } = await setup(t, { listenPort: proxy.port })
  await proxy.cut()
  await waitFor(() => logs.lines.some((l) => l.msg === 'outbox listener lost its connection' || l.msg === 'outbox listener could not connect; polling until it does'), 'the listener noticed', { timeoutMs: 20_000 })
  const userId = randomUUID()
  await withTransaction(pool, async (client) => await enqueueEvent(client, Events.userCreated, created(userId)))
  await proxy.restore()
  const published = await events(1)
  t.same(published.map((e) => e.userId), [userId])
})

t.test('a relay that cannot publish backs off and warns once per outage, then publishes everything', async (t) => {
  // No stream for the prefix: every publish fails, as it does while JetStream is unavailable.
  const { pool, relay, created, events, logs, nc, prefix } = await setup(t, { withoutStream: true })
  const ids: string[] = []
  for (let i = 0; i < 10; i++) {
    const userId = randomUUID()
    ids.push(userId)
    await withTransaction(pool, async (client) => await enqueueEvent(client, Events.userCreated, created(userId)))
  }
  await waitFor(() => relay.consecutiveFailures >= 3, 'three failed drains', { timeoutMs: 20_000 })
  const failures = logs.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('outbox relay failed'))
  t.equal(failures.filter((l) => l.level === 'warn' || l.level === 40).length, 1, 'one warning for the outage, the retries at debug')
  t.ok(failures.every((l) => ((l.err as { stack?: string } | undefined)?.stack ?? '') === ''), 'no stack traces')
  t.ok(failures.every((l) => typeof l.retryInMs === 'number' && l.retryInMs <= 400), 'each retry waits, within the ceiling')
  await ensureEventsStream(nc, prefix, { replicas: 1 })
  const published = await events(10)
  t.same(published.map((e) => e.userId), ids, 'every event, in order, once the stream is back')
  await waitFor(() => relay.consecutiveFailures === 0 && logs.lines.some((l) => l.msg === 'outbox relay publishing again'), 'the relay publishing again', { timeoutMs: 20_000 })
})
