import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { jetstreamManager } from '@nats-io/jetstream'
import { randomUUID } from 'node:crypto'
import { EventSubjects, Subjects } from '@wxmp/contracts'
import { eventsStreamName } from '@wxmp/nats'
import { eventually } from '@wxmp/testing'
import { buildTestService, connectOperator } from '@wxmp/service/testing'
import app from '../src/app.js'
import { ConfigSchema } from '../src/config.js'
import { buildPayment } from './helpers/harness.js'

const serviceDir = fileURLToPath(new URL('..', import.meta.url))

/** The payment service as its own process (src/server.ts), logging JSON lines we can wait for. */
function startProcess (env: Record<string, string>): { child: ChildProcess, lines: Array<Record<string, unknown>>, exited: Promise<NodeJS.Signals | number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@wxmp/source', 'src/server.ts'], {
    cwd: serviceDir,
    env: { ...process.env, ...env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'debug', LOG_PRETTY: 'false' },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const lines: Array<Record<string, unknown>> = []
  readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    try { lines.push(JSON.parse(line) as Record<string, unknown>) } catch { lines.push({ unparsed: line }) }
  })
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)))
  return { child, lines, exited }
}

t.test('a process killed after committing a payment and before publishing its event still delivers it, once, after a restart', async (t) => {
  const h = await buildPayment(t)
  const userId = await h.newUser()
  const { order } = await h.createOrder(userId, { productId: 'latte' })
  // From here on the payment service is a separate process.
  await h.payment.app.close()
  const proc = startProcess(h.env)
  t.teardown(() => { proc.child.kill('SIGKILL') })
  await h.until(async () => await h.call(Subjects.payment.ping, {}).then(() => true, () => false), Boolean, 30_000)

  // JetStream loses the EVENTS stream: the process can commit state changes, but not publish their events.
  const jsm = await jetstreamManager(await connectOperator(t, h.prefix))
  await jsm.streams.delete(eventsStreamName(h.prefix))

  const db = new pg.Client({ connectionString: h.env.DATABASE_URL })
  await db.connect()
  t.teardown(async () => { await db.end() })
  const status = async (): Promise<string> => (await db.query('SELECT status FROM orders WHERE id = $1', [order.id])).rows[0].status
  await h.pay(order.outTradeNo)
  t.equal(await h.until(status, (s) => s === 'PAID'), 'PAID', 'the payment is committed')
  await h.until(async () => proc.lines.some((l) => l.msg === 'outbox relay failed; backing off'), Boolean)
  t.ok(proc.lines.some((l) => l.msg === 'outbox relay failed; backing off'), 'and its event could not be published yet')

  // The crash: no shutdown hook, no drain, nothing flushed.
  proc.child.kill('SIGKILL')
  t.equal(await proc.exited, 'SIGKILL')
  const pending = await db.query('SELECT id, subject, published_at FROM outbox')
  t.same(pending.rows.map((r) => [r.subject, r.published_at]), [[EventSubjects.paymentSucceeded, null]], 'the event waits in the outbox')
  t.same(await h.events(EventSubjects.paymentSucceeded, 0), [], 'nothing was published')
  // the simulator records the 200 after the relay has passed it on, which can be after the log line above
  const delivered = await h.until(async () => await h.sim_(`/sim/notifications?subject=${order.outTradeNo}`), (r) => r.notifications[0]?.state === 'delivered')
  t.equal(delivered.notifications[0].state, 'delivered', 'WeChat Pay was told 200: it will not send the notification again')

  // A new instance on the same database (the restart) publishes what the dead one could not.
  const restarted = await buildTestService(t, { name: 'payment', schema: ConfigSchema, app, prefix: h.prefix, env: h.env })
  const events = await h.events(EventSubjects.paymentSucceeded)
  t.equal(events.length, 1, 'delivered after the restart')
  t.match(events[0], { id: pending.rows[0].id, orderId: order.id, userId, amount: 1800 })

  // The other window: published, then killed before the row was marked. The republish carries the same
  // Nats-Msg-Id, and the stream drops it.
  await restarted.app.pg.query('UPDATE outbox SET published_at = NULL')
  await restarted.app.outbox.drain()
  // A drain of the relay's own may hold the row (SKIP LOCKED) until it commits.
  const unmarked = async (): Promise<number> => (await restarted.app.pg.query('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL')).rows[0].n
  t.equal(await eventually(unmarked, (n) => n === 0), 0, 'republished')
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal((await h.events(EventSubjects.paymentSucceeded)).length, 1, 'still one event on the stream')
})

t.test('a process killed while its request holds an Idempotency-Key: after the lease, a retry completes the same order', async (t) => {
  const h = await buildPayment(t)
  const userId = await h.newUser()
  await h.payment.app.close()
  const proc = startProcess(h.env)
  t.teardown(() => { proc.child.kill('SIGKILL') })
  await h.until(async () => await h.call(Subjects.payment.ping, {}).then(() => true, () => false), Boolean, 30_000)

  // WeChat Pay is slow; the process dies while it waits for the prepay.
  await h.sim_('/sim/faults', { endpoint: 'jsapi', latencyMs: 1500, times: 1 })
  const key = randomUUID()
  const first = h.createOrder(userId, { productId: 'latte' }, key).then(() => 'answered', () => 'no answer')
  // WeChat Pay has the prepay request: the process claimed the key and wrote the order, and now waits.
  await h.until(async () => (await h.sim_('/sim/stats')).calls.jsapi === 1, Boolean)
  proc.child.kill('SIGKILL')
  await proc.exited
  t.equal(await first, 'no answer', 'the client never heard back')

  // A new instance. The dead request's lease (IDEMPOTENCY_LEASE_SECONDS) still holds the key: for all anyone
  // can tell, the first request is still running.
  const restarted = await buildTestService(t, { name: 'payment', schema: ConfigSchema, app, prefix: h.prefix, env: h.env })
  await h.until(async () => await h.call(Subjects.payment.ping, {}).then(() => true, () => false), Boolean)
  await t.rejects(h.createOrder(userId, { productId: 'latte' }, key), { statusCode: 409, code: 'IDEMPOTENCY_KEY_IN_USE' }, 'while the lease lasts')
  // Time passes: the lease runs out, and the retry carries the order on.
  await restarted.app.pg.query("UPDATE idempotency_keys SET locked_until = now() - interval '1 second'")
  const retried = await h.createOrder(userId, { productId: 'latte' }, key)
  t.equal(retried.replayed, false)
  const { rows } = await restarted.app.pg.query('SELECT id, out_trade_no FROM orders')
  t.equal(rows.length, 1, 'one order')
  t.equal(retried.order.outTradeNo, rows[0].out_trade_no)
  const wechat = (h.sim.app as any).sim.pay.orders
  t.equal(wechat.size, 1, 'one order at WeChat Pay')
  t.equal(retried.order.payParams!.package, `prepay_id=${wechat.get(rows[0].out_trade_no).prepayId}`, 'the prepay the dead process asked for')
  t.same(await h.createOrder(userId, { productId: 'latte' }, key), { replayed: true, order: retried.order })
})
