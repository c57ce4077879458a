import t from 'tap'
import type { Test } from 'tap'
import { Value } from '@sinclair/typebox/value'
import { EventSubjects, PaymentSucceededEvent } from '@wxmp/contracts'
import { proxiedTestDatabase, rsaKeyPairSync } from '@wxmp/testing'
import { buildPayment, signatureHeaders, signedNotification, type Delivery, type PaymentHarness } from './helpers/harness.js'

/** What WeChat Pay would report for a payment of this order; `over` changes any field. */
function transaction (h: PaymentHarness, order: { outTradeNo: string, amount: number }, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    appid: h.sim.keys.appid,
    mchid: h.sim.keys.mchid,
    out_trade_no: order.outTradeNo,
    transaction_id: '4200000000' + String(Date.now()).slice(-10),
    trade_type: 'JSAPI',
    trade_state: 'SUCCESS',
    trade_state_desc: '支付成功',
    bank_type: 'OTHERS',
    success_time: '2026-11-27T10:34:56+08:00',
    payer: { openid: 'oPayer' },
    amount: { total: order.amount, payer_total: order.amount, currency: 'CNY', payer_currency: 'CNY' },
    ...over
  }
}

async function nothingHappened (t: Test, h: PaymentHarness, orderId: string): Promise<void> {
  t.equal((await h.row(orderId)).status, 'PENDING', 'the order is still pending')
  t.same((await h.transitions(orderId)).map((r) => r.to_status), ['PENDING'], 'no transition')
  const { rows } = await h.payment.app.pg.query('SELECT (SELECT count(*) FROM wechat_notifications)::int AS seen, (SELECT count(*) FROM outbox)::int AS events')
  t.same(rows[0], { seen: 0, events: 0 }, 'no notification noted, no event written')
}

t.test('a payment notified by WeChat Pay makes the order PAID with one payment.succeeded event', async (t) => {
  const h = await buildPayment(t)
  const userId = await h.newUser()
  const { order } = await h.createOrder(userId, { productId: 'latte', quantity: 2 })
  const { notificationId, transactionId } = await h.pay(order.outTradeNo)
  const paid = await h.until(async () => await h.row(order.id), (r) => r.status === 'PAID')
  t.equal(paid.status, 'PAID')
  t.equal(paid.transaction_id, transactionId)
  t.ok(paid.paid_at instanceof Date)
  t.same(await h.transitions(order.id), [
    { from_status: null, to_status: 'PENDING', cause: 'checkout' },
    { from_status: 'PENDING', to_status: 'PAID', cause: `notification:${notificationId}` }
  ], 'each transition recorded with its cause')
  const events = await h.events(EventSubjects.paymentSucceeded)
  t.equal(events.length, 1)
  t.match(events[0], { orderId: order.id, userId, outTradeNo: order.outTradeNo, transactionId, productId: 'latte', quantity: 2, amount: 3600 })
  t.match(events[0]?.id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.ok(Value.Check(PaymentSucceededEvent, events[0]), 'the event matches its contract')
  const delivered = await h.until(async () => await h.sim_(`/sim/notifications?subject=${order.outTradeNo}`), (r) => r.notifications[0]?.state === 'delivered')
  t.equal(delivered.notifications[0].state, 'delivered', 'WeChat Pay got its 200 and stops sending')
})

t.test('1,000 replays of one notification, many at once, make one transition and one event', async (t) => {
  const h = await buildPayment(t)
  const userId = await h.newUser()
  const { order } = await h.createOrder(userId, { productId: 'postcard', quantity: 5 })
  // WeChat Pay itself sends the first delivery with duplicates at the same moment.
  await h.sim_('/sim/pay', { outTradeNo: order.outTradeNo, result: 'SUCCESS', duplicates: 5 })
  await h.until(async () => h.relay.deliveries.length, (n) => n >= 6)
  const original = h.relay.deliveries[0] as Delivery

  const answers: number[] = []
  // Bursts of 100 concurrent deliveries, then one at a time, of the exact bytes and signature first received.
  for (let burst = 0; burst < 6; burst++) {
    answers.push(...(await Promise.all(Array.from({ length: 100 }, async () => (await h.relay.send(original)).status))))
  }
  for (let i = 0; i < 388; i++) answers.push((await h.relay.send(original)).status)
  // And WeChat Pay's own redeliveries: the same notification, freshly signed each time.
  for (let i = 0; i < 6; i++) await h.sim_('/sim/notifications/redeliver', { subject: order.outTradeNo })
  await h.until(async () => h.relay.deliveries.length, (n) => n >= 12)
  t.equal(answers.length + h.relay.deliveries.length, 1000, 'a thousand deliveries in all')
  t.same([...new Set(answers)], [200], 'every replay is acknowledged, so WeChat Pay stops')

  t.same((await h.transitions(order.id)).map((r) => `${r.from_status ?? ''}>${r.to_status}`), ['>PENDING', 'PENDING>PAID'], 'one transition to PAID')
  const { rows } = await h.payment.app.pg.query('SELECT (SELECT count(*) FROM wechat_notifications)::int AS seen, (SELECT count(*) FROM outbox)::int AS events')
  t.same(rows[0], { seen: 1, events: 1 })
  await h.events(EventSubjects.paymentSucceeded)
  await new Promise((resolve) => setTimeout(resolve, 700))
  const events = await h.events(EventSubjects.paymentSucceeded)
  t.equal(events.length, 1, 'one event on the stream')
})

t.test('a tampered, stale, foreign or unsigned notification is refused and changes nothing', async (t) => {
  const h = await buildPayment(t)
  const { order } = await h.createOrder(await h.newUser(), { productId: 'latte' })
  const genuine = signedNotification(h.sim, 'TRANSACTION.SUCCESS', transaction(h, order))
  const text = genuine.body.toString('utf8')

  const tampered = { body: Buffer.from(text.replace('"summary":"test"', '"summary":"tesT"')), headers: genuine.headers }
  t.same(await h.relay.send(tampered), { status: 401, code: 'WECHATPAY_SIGNATURE_INVALID' }, 'one byte changed')
  const stale = { body: genuine.body, headers: signatureHeaders(h.sim, genuine.body, Math.floor(Date.now() / 1000) - 6 * 60) }
  t.same(await h.relay.send(stale), { status: 401, code: 'WECHATPAY_SIGNATURE_INVALID' }, 'signed six minutes ago')
  const future = { body: genuine.body, headers: signatureHeaders(h.sim, genuine.body, Math.floor(Date.now() / 1000) + 6 * 60) }
  t.same(await h.relay.send(future), { status: 401, code: 'WECHATPAY_SIGNATURE_INVALID' }, 'signed six minutes ahead')
  const stranger = rsaKeyPairSync().privateKey
  const forged = { body: genuine.body, headers: signatureHeaders({ ...h.sim, keys: { ...h.sim.keys, wechatpayPrivateKeyPem: stranger } }, genuine.body) }
  t.same(await h.relay.send(forged), { status: 401, code: 'WECHATPAY_SIGNATURE_INVALID' }, 'signed by another key')
  t.same(await h.relay.send({ body: genuine.body, headers: { ...genuine.headers, 'wechatpay-serial': 'PUB_KEY_ID_0199999999999999999999999999' } }), { status: 401, code: 'WECHATPAY_SIGNATURE_INVALID' }, 'an unknown key id')
  t.same(await h.relay.send({ body: genuine.body, headers: {} }), { status: 401, code: 'WECHATPAY_SIGNATURE_INVALID' }, 'no signature at all')
  const probe = { body: genuine.body, headers: { ...genuine.headers, 'wechatpay-signature': 'WECHATPAY/SIGNTEST/' + genuine.headers['wechatpay-signature'] } }
  t.same(await h.relay.send(probe), { status: 401, code: 'WECHATPAY_SIGNATURE_INVALID' }, 'WeChat Pay\'s signature probe is refused too')
  const otherKey = { ...h.sim, keys: { ...h.sim.keys, apiV3Key: 'x'.repeat(32) } }
  t.same(await h.relay.send(signedNotification(otherKey, 'TRANSACTION.SUCCESS', transaction(h, order))), { status: 400, code: 'WECHATPAY_NOTIFICATION_INVALID' }, 'signed, but not encrypted with our APIv3 key')
  await nothingHappened(t, h, order.id)

  t.same(await h.relay.send(genuine), { status: 200 }, 'the untouched notification is accepted')
  t.equal((await h.row(order.id)).status, 'PAID')
})

t.test('a signed notification that contradicts the order is refused, logged, and changes nothing', async (t) => {
  const h = await buildPayment(t)
  const { order } = await h.createOrder(await h.newUser(), { productId: 'tote-bag' })
  const short = signedNotification(h.sim, 'TRANSACTION.SUCCESS', transaction(h, order, { amount: { total: order.amount - 1, payer_total: order.amount - 1, currency: 'CNY' } }))
  t.same(await h.relay.send(short), { status: 400, code: 'PAYMENT_MISMATCH' }, 'one fen short')
  const line = h.payment.logs.lines.find((l) => l.msg === 'payment report does not match the order; refused')
  t.ok(line, 'the mismatch is logged')
  t.equal(line?.level, 'error')
  t.same(line?.mismatch, ['amount'])
  t.same(line?.expected, { amount: 2500, appid: h.sim.keys.appid, mchid: h.sim.keys.mchid })
  t.match(line?.received, { amount: 2499, currency: 'CNY' })
  t.equal(line?.outTradeNo, order.outTradeNo)

  t.same(await h.relay.send(signedNotification(h.sim, 'TRANSACTION.SUCCESS', transaction(h, order, { appid: 'wx0000000000000000' }))), { status: 400, code: 'WECHATPAY_NOTIFICATION_INVALID' }, 'another app')
  t.same(await h.relay.send(signedNotification(h.sim, 'TRANSACTION.SUCCESS', transaction(h, order, { mchid: '1900000000' }))), { status: 400, code: 'WECHATPAY_NOTIFICATION_INVALID' }, 'another merchant')
  t.same(await h.relay.send(signedNotification(h.sim, 'TRANSACTION.SUCCESS', transaction(h, { outTradeNo: 'P000000000000nobody', amount: 2500 }))), { status: 400, code: 'PAYMENT_MISMATCH' }, 'an order that does not exist')
  await nothingHappened(t, h, order.id)
})

t.test('when the database is down the notification gets a 5xx, and WeChat Pay\'s next attempt settles it', async (t) => {
  const { url, proxy } = await proxiedTestDatabase(t, 'payment')
  const h = await buildPayment(t, {
    env: { DATABASE_URL: url },
    sim: { SIM_NOTIFY_SCHEDULE: Array.from({ length: 40 }, () => '250ms').join(','), SIM_NOTIFY_SCHEDULE_SCALE: '1' }
  })
  const { order } = await h.createOrder(await h.newUser(), { productId: 'latte' })
  await proxy.cut()
  await h.pay(order.outTradeNo)
  const refused = await h.until(async () => await h.sim_(`/sim/notifications?subject=${order.outTradeNo}`), (r) => (r.notifications[0]?.attempts.length ?? 0) >= 2)
  t.ok(refused.notifications[0].attempts.every((a: { status?: number }) => a.status !== undefined && a.status >= 500), 'answered 5xx, so WeChat Pay keeps trying')
  await proxy.restore()
  const settled = await h.until(async () => await h.row(order.id).catch(() => undefined), (r) => r?.status === 'PAID')
  t.equal(settled?.status, 'PAID', 'a later attempt went through')
  t.equal((await h.events(EventSubjects.paymentSucceeded)).length, 1)
  t.equal((await h.sim_(`/sim/notifications?subject=${order.outTradeNo}`)).notifications[0].state, 'delivered')
})
