import t from 'tap'
import { randomUUID } from 'node:crypto'
import { Value } from '@sinclair/typebox/value'
import { EventSubjects, PaymentRefundedEvent, Subjects, type RefundOrderReply } from '@wxmp/contracts'
import { buildPayment, paidOrder, type PaymentHarness } from './helpers/harness.js'

const settleAtWechat = async (h: PaymentHarness, outRefundNo: string, result = 'SUCCESS'): Promise<void> => {
  const r = await h.sim_('/sim/refund', { outRefundNo, result })
  if (r.http !== 200) throw new Error(JSON.stringify(r))
}

t.test('a partial refund, then the rest: PAID -> REFUNDING -> PARTIALLY_REFUNDED -> REFUNDING -> REFUNDED, one event per refund', async (t) => {
  const h = await buildPayment(t)
  const { userId, orderId, outTradeNo } = await paidOrder(h)

  const first = await h.refund(userId, orderId, 1000)
  t.equal(first.replayed, false)
  t.match(first.refund, { orderId, amount: 1000, status: 'PROCESSING', settledAt: null })
  t.equal(first.order.status, 'REFUNDING')
  await settleAtWechat(h, first.refund.outRefundNo)
  const partial = await h.until(async () => await h.row(orderId), (r) => r.status !== 'REFUNDING')
  t.equal(partial.status, 'PARTIALLY_REFUNDED')
  t.equal(partial.refunded_amount, 1000)

  const rest = await h.refund(userId, orderId, 1500)
  t.equal(rest.order.status, 'REFUNDING')
  await settleAtWechat(h, rest.refund.outRefundNo)
  const done = await h.until(async () => await h.row(orderId), (r) => r.status === 'REFUNDED')
  t.equal(done.refunded_amount, 2500)

  t.same((await h.transitions(orderId)).map((r) => r.to_status), ['PENDING', 'PAID', 'REFUNDING', 'PARTIALLY_REFUNDED', 'REFUNDING', 'REFUNDED'])
  const events = await h.events(EventSubjects.paymentRefunded, 2)
  t.equal(events.length, 2)
  t.match(events[0], { orderId, userId, outTradeNo, outRefundNo: first.refund.outRefundNo, amount: 1000, refundedAmount: 1000, orderStatus: 'PARTIALLY_REFUNDED' })
  t.match(events[1], { orderId, outRefundNo: rest.refund.outRefundNo, amount: 1500, refundedAmount: 2500, orderStatus: 'REFUNDED' })
  t.match(events[0]?.refundId, /^50\d+$/, 'WeChat Pay\'s refund_id')
  t.ok(events.every((e) => Value.Check(PaymentRefundedEvent, e)), 'the events match their contract')

  await t.rejects(h.refund(userId, orderId, 1), { statusCode: 409, code: 'ORDER_NOT_REFUNDABLE' }, 'nothing is left to refund')
  // A redelivered REFUND.SUCCESS changes nothing.
  await h.sim_('/sim/notifications/redeliver', { subject: rest.refund.outRefundNo })
  await h.until(async () => h.relay.deliveries.length, (n) => n >= 4)
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal((await h.events(EventSubjects.paymentRefunded, 2)).length, 2)
  t.equal((await h.transitions(orderId)).length, 6)
})

t.test('refunds never exceed the paid amount, not even when requested all at once', async (t) => {
  const h = await buildPayment(t)
  const { userId, orderId } = await paidOrder(h)
  await t.rejects(h.refund(userId, orderId, 2501), { statusCode: 422, code: 'REFUND_EXCEEDS_PAID', message: /2500 fen/ })

  const results = await Promise.all(Array.from({ length: 10 }, async () => await h.refund(userId, orderId, 600).then((r) => r, (err: { statusCode: number, code: string }) => err)))
  const ok = results.filter((r): r is RefundOrderReply => 'refund' in r)
  const refused = results.filter((r) => !('refund' in r)) as Array<{ statusCode: number, code: string }>
  t.equal(ok.length, 4, 'four refunds of 600 fit in 2500')
  t.same([...new Set(refused.map((e) => `${e.statusCode} ${e.code}`))], ['422 REFUND_EXCEEDS_PAID'], 'the other six are refused')
  t.equal(new Set(ok.map((r) => r.refund.outRefundNo)).size, 4)
  await t.rejects(h.refund(userId, orderId, 101), { statusCode: 422, code: 'REFUND_EXCEEDS_PAID', message: /100 fen/ })
  const last = await h.refund(userId, orderId, 100)
  t.equal(last.refund.amount, 100)

  const { rows } = await h.payment.app.pg.query('SELECT sum(amount)::int AS total, count(*)::int AS n FROM refunds WHERE order_id = $1', [orderId])
  t.same(rows[0], { total: 2500, n: 5 })
  const wechat = (h.sim.app as any).sim.pay.orders.get((await h.row(orderId)).out_trade_no)
  t.equal(wechat.refunded, 2500, 'WeChat Pay was asked for exactly the amount paid')

  for (const r of [...ok, last]) await settleAtWechat(h, r.refund.outRefundNo)
  const final = await h.until(async () => await h.row(orderId), (r) => r.status === 'REFUNDED')
  t.equal(final.refunded_amount, 2500)
  t.equal((await h.events(EventSubjects.paymentRefunded, 5)).length, 5)
})

t.test('the same key replays the refund; a failed call to WeChat Pay is retried with the same out_refund_no', async (t) => {
  const h = await buildPayment(t)
  const { userId, orderId } = await paidOrder(h)
  const key = randomUUID()
  await h.sim_('/sim/faults', { endpoint: 'refund', code: 'SYSTEM_ERROR', times: 3 })
  await t.rejects(h.refund(userId, orderId, 700, key), { statusCode: 503, code: 'WECHATPAY_UNAVAILABLE' })
  const { rows: pending } = await h.payment.app.pg.query('SELECT out_refund_no, status FROM refunds WHERE order_id = $1', [orderId])
  t.equal(pending.length, 1, 'the refund is recorded')
  t.equal(pending[0].status, 'PROCESSING', 'and stays processing: its outcome at WeChat Pay is not known')
  t.equal((await h.row(orderId)).status, 'REFUNDING')

  const retried = await h.refund(userId, orderId, 700, key)
  t.equal(retried.replayed, false)
  t.equal(retried.refund.outRefundNo, pending[0].out_refund_no, 'the same out_refund_no')
  const again = await h.refund(userId, orderId, 700, key)
  t.equal(again.replayed, true)
  t.same(again.refund, retried.refund, 'the stored answer')
  await t.rejects(h.refund(userId, orderId, 701, key), { statusCode: 422, code: 'IDEMPOTENCY_KEY_REUSED' })
  const sim = (h.sim.app as any).sim.pay
  t.equal([...sim.refunds.values()].length, 1, 'WeChat Pay made one refund')
  t.equal((await h.sim_('/sim/stats')).calls.refund, 4, 'three refused attempts and one accepted, all under one out_refund_no')
  const { rows } = await h.payment.app.pg.query('SELECT count(*)::int AS n FROM refunds')
  t.equal(rows[0].n, 1)
})

t.test('only staff refund on the merchant\'s initiative; a refund WeChat Pay refuses or closes gives the money state back', async (t) => {
  const h = await buildPayment(t)
  const { userId, orderId } = await paidOrder(h)
  const asBuyer = { idempotencyKey: randomUUID(), orderId, amount: 100 }
  await t.rejects(h.call(Subjects.payment.refundOrder, asBuyer, userId), { statusCode: 403, code: 'FORBIDDEN' }, 'a buyer\'s own order: no direct refund')
  await t.rejects(h.refund(userId, randomUUID(), 100), { statusCode: 404, code: 'ORDER_NOT_FOUND' })
  const unpaid = (await h.createOrder(userId)).order
  await t.rejects(h.refund(userId, unpaid.id, 100), { statusCode: 409, code: 'ORDER_NOT_REFUNDABLE' })

  const key = randomUUID()
  await h.sim_('/sim/faults', { endpoint: 'refund', code: 'TRADE_ERROR', times: 1 })
  await t.rejects(h.refund(userId, orderId, 500, key), { statusCode: 422, code: 'WECHATPAY_REJECTED' })
  t.equal((await h.row(orderId)).status, 'PAID', 'back to PAID')
  const { rows } = await h.payment.app.pg.query('SELECT status FROM refunds WHERE order_id = $1', [orderId])
  t.same(rows, [{ status: 'FAILED' }])
  await t.rejects(h.refund(userId, orderId, 500, key), { statusCode: 422, code: 'WECHATPAY_REJECTED' }, 'the same key gets the same refusal')

  const closing = await h.refund(userId, orderId, 800)
  await settleAtWechat(h, closing.refund.outRefundNo, 'CLOSED')
  const back = await h.until(async () => await h.row(orderId), (r) => r.status !== 'REFUNDING')
  t.equal(back.status, 'PAID', 'a closed refund returned nothing')
  t.equal(back.refunded_amount, 0)
  t.same((await h.transitions(orderId)).map((r) => r.to_status), ['PENDING', 'PAID', 'REFUNDING', 'PAID', 'REFUNDING', 'PAID'])
  const full = await h.refund(userId, orderId, 2500)
  t.equal(full.refund.amount, 2500, 'failed and closed refunds do not count against what is left')
  t.equal((await h.events(EventSubjects.paymentRefunded, 0)).length, 0, 'no refund event for refunds that returned nothing')
})
