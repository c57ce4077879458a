import t from 'tap'
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { EventSubjects } from '@wxmp/contracts'
import { buildPayment } from './helpers/harness.js'

// Nobody listens here: every notification WeChat Pay sends is lost.
const LOST = 'http://127.0.0.1:9/v1/payments/wechat/notify'
const GIVE_UP_FAST = { SIM_NOTIFY_SCHEDULE: '10ms', SIM_NOTIFY_SCHEDULE_SCALE: '1' }

t.test('a paid order whose notification never comes is settled by the reconciler running in the service', async (t) => {
  const h = await buildPayment(t, { notifyUrl: LOST, sim: GIVE_UP_FAST, env: { RECONCILE_INTERVAL_MS: '100', RECONCILE_AFTER_SECONDS: '0' } })
  const userId = await h.newUser()
  const { order } = await h.createOrder(userId, { productId: 'latte' })
  const { transactionId } = await h.pay(order.outTradeNo)
  const lost = await h.until(async () => await h.sim_(`/sim/notifications?subject=${order.outTradeNo}`), (r) => r.notifications[0]?.state === 'failed')
  t.equal(lost.notifications[0].state, 'failed', 'WeChat Pay gave up delivering')

  const paid = await h.until(async () => await h.row(order.id), (r) => r.status === 'PAID')
  t.equal(paid.status, 'PAID', 'settled without a notification')
  t.equal(paid.transaction_id, transactionId)
  t.same((await h.transitions(order.id)).slice(1), [{ from_status: 'PENDING', to_status: 'PAID', cause: 'reconciler' }])
  const events = await h.events(EventSubjects.paymentSucceeded)
  t.equal(events.length, 1)
  t.match(events[0], { orderId: order.id, transactionId, amount: 1800 })

  // A late notification after all (WeChat Pay retried by hand) is a duplicate.
  // runOnce joins a pass already in flight, and the service's own pass that settled the order may still be
  // finishing its other work (under load it often is): the pass asked about is one that starts after it.
  await h.payment.app.reconciler.runOnce()
  const report = await h.payment.app.reconciler.runOnce()
  t.equal(report.paid, 0, 'nothing left to settle')
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal((await h.events(EventSubjects.paymentSucceeded)).length, 1, 'still one event')

  // The reconciler stops with the service.
  await h.payment.app.close()
  const before = (await h.sim_('/sim/stats')).calls.query ?? 0
  await new Promise((resolve) => setTimeout(resolve, 400))
  t.equal((await h.sim_('/sim/stats')).calls.query ?? 0, before, 'no queries after close')
})

t.test('an unpaid order past its expiry is closed at WeChat Pay first, then here; an order never prepaid is closed too', async (t) => {
  const h = await buildPayment(t, { notifyUrl: LOST, sim: GIVE_UP_FAST, env: { RECONCILE_AFTER_SECONDS: '0' } })
  const userId = await h.newUser()
  const { order } = await h.createOrder(userId, { productId: 'latte' })
  const neverKey = randomUUID()
  await h.sim_('/sim/faults', { endpoint: 'jsapi', code: 'SYSTEM_ERROR', times: 3 })
  await t.rejects(h.createOrder(userId, { productId: 'postcard' }, neverKey), { statusCode: 503, code: 'WECHATPAY_UNAVAILABLE' })
  const never = (await h.payment.app.pg.query("SELECT id FROM orders WHERE product_id = 'postcard'")).rows[0].id as string

  const early = await h.payment.app.reconciler.runOnce()
  t.same({ paid: early.paid, closed: early.closed }, { paid: 0, closed: 0 }, 'not expired yet: left alone')
  t.equal((await h.row(order.id)).status, 'PENDING')

  // Time passes: both orders are past their expiry.
  await h.payment.app.pg.query("UPDATE orders SET expires_at = now() - interval '1 second', next_check_at = now()")
  const report = await h.payment.app.reconciler.runOnce()
  t.equal(report.closed, 2)
  t.equal((await h.row(order.id)).status, 'CLOSED')
  t.equal((await h.row(never)).status, 'CLOSED')
  t.same((await h.transitions(order.id)).map((r) => [r.to_status, r.cause]), [['PENDING', 'checkout'], ['CLOSED', 'expired']])
  t.equal((await h.sim_('/sim/stats')).calls.close, 2, 'both were closed at WeChat Pay before here')
  const tooLate = await h.sim_('/sim/pay', { outTradeNo: order.outTradeNo, result: 'SUCCESS' })
  t.equal(tooLate.http, 409, 'the phone can no longer pay it')
  await t.rejects(h.createOrder(userId, { productId: 'postcard' }, neverKey), { statusCode: 409, code: 'ORDER_NOT_PAYABLE' }, 'its key now says so for good')
  await t.rejects(h.createOrder(userId, { productId: 'postcard' }, neverKey), { statusCode: 409, code: 'ORDER_NOT_PAYABLE' })
  t.equal((await h.sim_('/sim/stats')).prepay[(await h.row(never)).out_trade_no], 3, 'and never prepays a closed order')
})

t.test('one replica at a time: a pass does nothing while another holds the reconciler lock', async (t) => {
  const h = await buildPayment(t, { notifyUrl: LOST, sim: GIVE_UP_FAST, env: { RECONCILE_AFTER_SECONDS: '0' } })
  const { order } = await h.createOrder(await h.newUser())
  await h.pay(order.outTradeNo)
  const other = new pg.Client({ connectionString: h.payment.config.DATABASE_URL })
  await other.connect()
  t.teardown(async () => { await other.end() })
  await other.query('SELECT pg_advisory_lock($1)', [0x77786d70])
  t.same(await h.payment.app.reconciler.runOnce(), { ran: false, paid: 0, closed: 0, refundsSettled: 0, keysForgotten: 0, shipped: 0 })
  t.equal((await h.row(order.id)).status, 'PENDING')
  await other.query('SELECT pg_advisory_unlock($1)', [0x77786d70])
  t.match(await h.payment.app.reconciler.runOnce(), { ran: true, paid: 1 })
})

t.test('a refund whose request failed and whose notification is lost is finished by the reconciler', async (t) => {
  const h = await buildPayment(t, { notifyUrl: LOST, sim: GIVE_UP_FAST, env: { RECONCILE_AFTER_SECONDS: '0' } })
  const userId = await h.newUser()
  const { order } = await h.createOrder(userId, { productId: 'tote-bag' })
  await h.pay(order.outTradeNo)
  t.match(await h.payment.app.reconciler.runOnce(), { paid: 1 })

  await h.sim_('/sim/faults', { endpoint: 'refund', hangup: true, times: 3 })
  await t.rejects(h.refund(userId, order.id, 2500), { statusCode: 503, code: 'WECHATPAY_UNAVAILABLE' })
  const { rows } = await h.payment.app.pg.query('SELECT out_refund_no FROM refunds')
  const outRefundNo = rows[0].out_refund_no as string
  t.equal((await h.sim_('/sim/stats')).calls.refund, 3, 'WeChat Pay never answered')

  await h.payment.app.reconciler.runOnce()
  t.equal((await h.sim_('/sim/stats')).calls.refund, 4, 'applied again, under the same out_refund_no')
  t.equal((await h.row(order.id)).status, 'REFUNDING')
  await h.sim_('/sim/refund', { outRefundNo, result: 'SUCCESS' })
  const report = await h.payment.app.reconciler.runOnce()
  t.equal(report.refundsSettled, 1)
  const done = await h.row(order.id)
  t.equal(done.status, 'REFUNDED')
  t.equal(done.refunded_amount, 2500)
  t.equal((await h.events(EventSubjects.paymentRefunded)).length, 1)
  t.equal([...(h.sim.app as any).sim.pay.refunds.values()].length, 1, 'one refund at WeChat Pay')
})

t.test('idempotency keys are forgotten after their retention, not before', async (t) => {
  const h = await buildPayment(t)
  const userId = await h.newUser()
  await h.createOrder(userId, {}, 'old-key')
  await h.createOrder(userId, {}, 'new-key')
  await h.payment.app.pg.query("UPDATE idempotency_keys SET created_at = now() - interval '24 hours 1 minute' WHERE key = 'old-key'")
  t.match(await h.payment.app.reconciler.runOnce(), { keysForgotten: 1 })
  const { rows } = await h.payment.app.pg.query('SELECT key FROM idempotency_keys')
  t.same(rows, [{ key: 'new-key' }])
})
