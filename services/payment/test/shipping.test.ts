import t from 'tap'
import { EventSubjects, Subjects, type Order, type ShipOrderReply } from '@wxmp/contracts'
import { buildPayment, type PaymentHarness } from './helpers/harness.js'
import { withPushes } from './helpers/push-relay.js'

async function status (h: PaymentHarness, userId: string, orderId: string): Promise<string> {
  return (await h.call<Order>(Subjects.payment.getOrder, { id: orderId }, userId)).status
}

async function reach (h: PaymentHarness, userId: string, orderId: string, want: string, ms = 20_000): Promise<string> {
  return await h.until(async () => await status(h, userId, orderId), (s) => s === want, ms)
}

/** A product delivered as virtual goods (the starter catalog's are all shipped by staff). */
async function virtualProduct (h: PaymentHarness): Promise<string> {
  await h.payment.app.pg.query("INSERT INTO products (id, name, price, delivery) VALUES ('e-stickers', '电子表情包', 100, 'virtual') ON CONFLICT (id) DO NOTHING")
  return 'e-stickers'
}

async function paidOrder (h: PaymentHarness, productId: string): Promise<{ userId: string, orderId: string, transactionId: string }> {
  const userId = await h.newUser()
  const { order } = await h.createOrder(userId, { productId })
  const { transactionId } = await h.pay(order.outTradeNo)
  return { userId, orderId: order.id, transactionId }
}

const uploadsOf = async (h: PaymentHarness, transactionId: string): Promise<number> => ((await h.sim_('/sim/stats')).shippingUploads[transactionId] ?? 0) as number

t.test('a virtual order goes PAID -> SHIPPED -> SETTLED with no human step', async (t) => {
  const h = await buildPayment(t, { sim: { SIM_VIRTUAL_AUTO_CONFIRM_MS: '200', SIM_SETTLEMENT_DELAY_MS: '200' } })
  await withPushes(t, h)
  const { userId, orderId, transactionId } = await paidOrder(h, await virtualProduct(h))
  t.equal(await reach(h, userId, orderId, 'SETTLED'), 'SETTLED')
  const transitions = await h.transitions(orderId)
  t.same(transitions.map((r: { to_status: string }) => r.to_status), ['PENDING', 'PAID', 'SHIPPED', 'CONFIRMED', 'SETTLED'])
  t.equal(transitions[2]?.cause, 'shipping:paid', 'reported at PAID')
  t.match(transitions[3]?.cause, /^push:/, 'confirmed by the platform\'s push')
  t.match(transitions[4]?.cause, /^push:/, 'settled by the platform\'s push')
  t.equal(await uploadsOf(h, transactionId), 1, 'one upload')
  const shipment = (await h.sim_(`/sim/shipping?transactionId=${transactionId}`))
  t.match(shipment, { http: 200 })
  const [shipped] = await h.events(EventSubjects.paymentShipped)
  t.match(shipped, { orderId, transactionId, logisticsType: 3 })
  const [settled] = await h.events(EventSubjects.paymentSettled)
  t.match(settled, { orderId, transactionId, amount: 100 })
})

t.test('a physical order goes PAID -> SHIPPED (staff, over payment.admin.shipOrder) -> CONFIRMED -> SETTLED', async (t) => {
  const h = await buildPayment(t, { sim: { SIM_SETTLEMENT_DELAY_MS: '-1' } })
  await withPushes(t, h)
  const { userId, orderId, transactionId } = await paidOrder(h, 'latte')
  t.equal(await reach(h, userId, orderId, 'PAID'), 'PAID')
  const staff = h.staff()
  await t.rejects(h.call(Subjects.payment.shipOrder, { orderId, expressCompany: 'SF', trackingNo: 'SF1234567890' }, userId), { statusCode: 403, code: 'FORBIDDEN' }, 'a buyer cannot ship')
  await t.rejects(h.callAs(Subjects.payment.shipOrder, { orderId }, staff), { statusCode: 400, code: 'SHIPPING_DETAILS_MISSING' }, 'express needs carrier and tracking number')
  const shipped = await h.callAs<ShipOrderReply>(Subjects.payment.shipOrder, { orderId, expressCompany: 'SF', trackingNo: 'SF1234567890', receiverContact: '138****8000' }, staff)
  t.match(shipped, { orderId, shipment: 'reported', order: { status: 'SHIPPED' } })
  const again = await h.callAs<ShipOrderReply>(Subjects.payment.shipOrder, { orderId, expressCompany: 'SF', trackingNo: 'SF1234567890' }, staff)
  t.equal(again.shipment, 'reported', 'shipping again changes nothing')
  t.equal(await uploadsOf(h, transactionId), 1, 'and uploads nothing: the one modification is not spent')

  t.match(await h.sim_('/sim/confirm-receipt', { transactionId }), { http: 200 })
  t.equal(await reach(h, userId, orderId, 'CONFIRMED'), 'CONFIRMED')
  t.match(await h.sim_('/sim/settle', { transactionId }), { http: 200 })
  t.equal(await reach(h, userId, orderId, 'SETTLED'), 'SETTLED')
  t.same((await h.transitions(orderId)).map((r: { to_status: string }) => r.to_status), ['PENDING', 'PAID', 'SHIPPED', 'CONFIRMED', 'SETTLED'])
  const audit = await h.events(EventSubjects.adminOrderShipped)
  t.equal(audit.length, 1, 'one audit event for shipping it, however often it was asked')
  t.match(audit[0], { action: 'order_shipped', actorId: staff.userId, actorRole: 'staff', orderId })
})

t.test('an upload whose answer is lost is resolved by get_order, and the platform counts exactly one upload', async (t) => {
  const h = await buildPayment(t, { sim: { SIM_VIRTUAL_AUTO_CONFIRM_MS: '-1' }, env: { SHIPPING_RETRY_SECONDS: '0', WECHAT_TIMEOUT_MS: '2000' } })
  t.match(await h.sim_('/sim/faults', { endpoint: 'upload_shipping_info', lostAnswer: true, times: 1 }), { http: 200 })
  const { userId, orderId, transactionId } = await paidOrder(h, await virtualProduct(h))
  // The upload at PAID reached the platform but its answer was lost: the shipment is left uncertain, the order PAID.
  const shipment = await h.until(async () => (await h.payment.app.pg.query('SELECT state, attempts, claimed_until FROM shipments WHERE order_id = $1', [orderId])).rows[0], (r) => r?.state === 'uncertain' && r?.claimed_until === null)
  t.match(shipment, { state: 'uncertain', attempts: 1 })
  t.equal(await status(h, userId, orderId), 'PAID')
  t.equal(await uploadsOf(h, transactionId), 1, 'the platform recorded it')

  const pass = await h.payment.app.reconciler.runOnce()
  t.equal(pass.shipped, 1, 'the reconciler resolved it')
  t.equal(await status(h, userId, orderId), 'SHIPPED')
  const [transition] = (await h.transitions(orderId)).filter((r: { to_status: string }) => r.to_status === 'SHIPPED')
  t.equal(transition?.cause, 'shipping:reconciler:get_order', 'by reading the platform\'s order, not by uploading')
  t.equal(await uploadsOf(h, transactionId), 1, 'still exactly one upload')
  t.equal((await h.sim_('/sim/stats')).calls.upload_shipping_info, 1, 'and one upload call in all')
  t.equal((await h.payment.app.reconciler.runOnce()).shipped, 0, 'nothing left to report')
})

t.test('trade_manage_remind_shipping flags an unshipped physical order once, with events.payment.shipping_overdue', async (t) => {
  const h = await buildPayment(t)
  await withPushes(t, h)
  const { userId, orderId, transactionId } = await paidOrder(h, 'latte')
  t.equal(await reach(h, userId, orderId, 'PAID'), 'PAID')
  t.match(await h.sim_('/sim/remind-shipping', { transactionId }), { http: 200 })
  const [overdue] = await h.events(EventSubjects.paymentShippingOverdue)
  t.match(overdue, { orderId, transactionId, cause: 'remind_shipping' })
  const paidAt = (await h.row(orderId)).paid_at as Date
  t.equal(overdue?.deadline, new Date(paidAt.getTime() + 48 * 3600_000).toISOString(), 'the deadline is 48 h after payment')

  // Our own 48 h clock reaching the same order later flags nothing more.
  await h.payment.app.pg.query("UPDATE orders SET paid_at = now() - interval '40 hours' WHERE id = $1", [orderId])
  await h.payment.app.reconciler.runOnce()
  t.equal((await h.payment.app.pg.query("SELECT count(*)::int AS n FROM outbox WHERE subject LIKE '%shipping_overdue'")).rows[0]?.n, 1, 'one overdue event')
  t.equal(await status(h, userId, orderId), 'PAID', 'the order itself is unchanged')
})

t.test('the 48 h rule: a physical order still unshipped 36 h after payment gets events.payment.shipping_overdue', async (t) => {
  const h = await buildPayment(t)
  const { userId, orderId, transactionId } = await paidOrder(h, 'latte')
  t.equal(await reach(h, userId, orderId, 'PAID'), 'PAID')
  await h.payment.app.reconciler.runOnce()
  t.equal((await h.payment.app.pg.query("SELECT count(*)::int AS n FROM outbox WHERE subject LIKE '%shipping_overdue'")).rows[0]?.n, 0, 'not yet: the deadline is far')
  await h.payment.app.pg.query("UPDATE orders SET paid_at = now() - interval '37 hours' WHERE id = $1", [orderId])
  await h.payment.app.reconciler.runOnce()
  const [overdue] = await h.events(EventSubjects.paymentShippingOverdue)
  t.match(overdue, { orderId, transactionId, cause: 'deadline' })
})

t.test('notify_confirm_receive: staff remind the buyer of a delivered express parcel once, with the carrier\'s time', async (t) => {
  const h = await buildPayment(t, { sim: { SIM_SETTLEMENT_DELAY_MS: '-1' } })
  await withPushes(t, h)
  const { shipping } = h.payment.app
  const { userId, orderId, transactionId } = await paidOrder(h, 'latte')
  t.equal(await reach(h, userId, orderId, 'PAID'), 'PAID')
  await t.rejects(shipping.remindConfirmReceipt({ orderId, receivedAt: new Date() }, h.payment.app.log), { statusCode: 409, code: 'RECEIPT_REMINDER_NOT_ALLOWED' }, 'not shipped yet')
  t.match(await h.callAs<ShipOrderReply>(Subjects.payment.shipOrder, { orderId, expressCompany: 'SF', trackingNo: 'SF1234567891' }, h.staff()), { shipment: 'reported' })

  await t.rejects(shipping.remindConfirmReceipt({ orderId, receivedAt: new Date(Date.now() - 3600_000) }, h.payment.app.log), { statusCode: 400, code: 'RECEIVED_TIME_INVALID' }, 'signed for before it shipped')
  await t.rejects(shipping.remindConfirmReceipt({ orderId: '00000000-0000-4000-8000-000000000000', receivedAt: new Date() }, h.payment.app.log), { statusCode: 404, code: 'ORDER_NOT_FOUND' })
  // WeChat failing the call leaves the one reminder unspent.
  t.match(await h.sim_('/sim/faults', { endpoint: 'notify_confirm_receive', status: 502, times: 1 }), { http: 200 })
  await t.rejects(shipping.remindConfirmReceipt({ orderId, receivedAt: new Date() }, h.payment.app.log), { statusCode: 503, code: 'WECHAT_UNAVAILABLE' })
  t.equal((await h.sim_(`/sim/shipping?transactionId=${transactionId}`)).confirmReminded, false)

  const reminded = await shipping.remindConfirmReceipt({ orderId, receivedAt: new Date() }, h.payment.app.log)
  t.match(reminded, { orderId, receivedTime: Number })
  t.equal((await h.sim_(`/sim/shipping?transactionId=${transactionId}`)).confirmReminded, true, 'the platform reminded the buyer')
  await t.rejects(shipping.remindConfirmReceipt({ orderId, receivedAt: new Date() }, h.payment.app.log), { statusCode: 409, code: 'RECEIPT_ALREADY_REMINDED' }, 'once per payment, refused here without calling WeChat')
  t.equal((await h.sim_('/sim/stats')).calls.notify_confirm_receive, 2, 'the failed call and the one that worked')

  // The buyer confirms; a reminder is no longer possible.
  t.match(await h.sim_('/sim/confirm-receipt', { transactionId }), { http: 200 })
  t.equal(await reach(h, userId, orderId, 'CONFIRMED'), 'CONFIRMED')
  await t.rejects(shipping.remindConfirmReceipt({ orderId, receivedAt: new Date() }, h.payment.app.log), { statusCode: 409, code: 'RECEIPT_REMINDER_NOT_ALLOWED', message: /CONFIRMED/ })
})

t.test('notify_confirm_receive is for express shipments only: a virtual order is refused before WeChat is called', async (t) => {
  const h = await buildPayment(t, { sim: { SIM_VIRTUAL_AUTO_CONFIRM_MS: '-1' } })
  const { userId, orderId } = await paidOrder(h, await virtualProduct(h))
  t.equal(await reach(h, userId, orderId, 'SHIPPED'), 'SHIPPED')
  await t.rejects(h.payment.app.shipping.remindConfirmReceipt({ orderId, receivedAt: new Date() }, h.payment.app.log), { statusCode: 409, code: 'RECEIPT_REMINDER_NOT_ALLOWED', message: /express/ })
  t.equal((await h.sim_('/sim/stats')).calls.notify_confirm_receive, undefined, 'WeChat was not called')
})
