import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { jetstreamManager } from '@nats-io/jetstream'
import { EventSubjects, Subjects } from '@wxmp/contracts'
import { eventsStreamName } from '@wxmp/nats'
import { buildTestService } from '@wxmp/service/testing'
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
  const jsm = await jetstreamManager(h.user.app.nats)
  await jsm.streams.delete(eventsStreamName(h.prefix))

  const db = new pg.Client({ connectionString: h.env.DATABASE_URL })
  await db.connect()
  t.teardown(async () => { await db.end() })
  const status = async (): Promise<string> => (await db.query('SELECT status FROM orders WHERE id = $1', [order.id])).rows[0].status
  await h.pay(order.outTradeNo)
  t.equal(await h.until(status, (s) => s === 'PAID'), 'PAID', 'the payment is committed')
  await h.until(async () => proc.lines.some((l) => l.msg === 'outbox relay failed; retrying at the next poll'), Boolean)
  t.ok(proc.lines.some((l) => l.msg === 'outbox relay failed; retrying at the next poll'), 'and its event could not be published yet')

  // The crash: no shutdown hook, no drain, nothing flushed.
  proc.child.kill('SIGKILL')
  t.equal(await proc.exited, 'SIGKILL')
  const pending = await db.query('SELECT id, subject, published_at FROM outbox')
  t.same(pending.rows.map((r) => [r.subject, r.published_at]), [[EventSubjects.paymentSucceeded, null]], 'the event waits in the outbox')
  t.same(await h.events(EventSubjects.paymentSucceeded, 0), [], 'nothing was published')
  const delivered = await h.sim_(`/sim/notifications?subject=${order.outTradeNo}`)
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
  t.equal((await restarted.app.pg.query('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL')).rows[0].n, 0, 'republished')
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal((await h.events(EventSubjects.paymentSucceeded)).length, 1, 'still one event on the stream')
})
