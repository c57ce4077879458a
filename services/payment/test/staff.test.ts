import t from 'tap'
import { randomUUID } from 'node:crypto'
import { Value } from '@sinclair/typebox/value'
import {
  AdminActionEvent, EventSubjects, Subjects, type AdminOrderDetail, type AdminOrderPage, type Order, type RefundDecision, type RefundRequestReply
} from '@wxmp/contracts'
import { buildPayment, paidOrder, type PaymentHarness } from './helpers/harness.js'

const requestRefund = async (h: PaymentHarness, userId: string, orderId: string, amount: number, key = randomUUID(), reason = '不想要了'): Promise<RefundRequestReply> =>
  await h.call<RefundRequestReply>(Subjects.payment.requestRefund, { idempotencyKey: key, orderId, amount, reason }, userId)

/** Refund calls WeChat Pay received, by out_refund_no. */
const simRefunds = (h: PaymentHarness): Map<string, { status: string }> => (h.sim.app as any).sim.pay.refunds
const simOrderState = (h: PaymentHarness, outTradeNo: string): string | undefined => (h.sim.app as any).sim.pay.orders.get(outTradeNo)?.state

const ADMIN_SUBJECTS = [EventSubjects.adminRefundApproved, EventSubjects.adminRefundDeclined, EventSubjects.adminRefundIssued, EventSubjects.adminOrderShipped, EventSubjects.adminOrderClosed]

/** Every events.admin.* event on the stream (the audit trail), once `atLeast` arrived and the outbox had time for more. */
async function auditTrail (h: PaymentHarness, atLeast: number): Promise<Array<Record<string, any>>> {
  const read = async (): Promise<Array<Record<string, any>>> => (await Promise.all(ADMIN_SUBJECTS.map(async (s) => await h.events(s, 0)))).flat()
  await h.until(read, (all) => all.length >= atLeast)
  await new Promise((resolve) => setTimeout(resolve, 300))
  return await read()
}

t.test('a buyer\'s refund request waits for staff; approval sends it to WeChat Pay once, however often it is approved', async (t) => {
  const h = await buildPayment(t)
  const { userId, orderId, outTradeNo } = await paidOrder(h)
  const key = randomUUID()
  const asked = await requestRefund(h, userId, orderId, 1000, key)
  t.match(asked, { replayed: false, request: { orderId, amount: 1000, reason: '不想要了', status: 'REQUESTED', refundId: null, decidedAt: null }, order: { status: 'REFUND_REQUESTED', refundedAmount: 0 } })
  const again = await requestRefund(h, userId, orderId, 1000, key)
  t.same({ ...again, replayed: false }, asked, 'the same key replays the first answer')
  t.equal(again.replayed, true)
  await t.rejects(requestRefund(h, userId, orderId, 500), { statusCode: 409, code: 'REFUND_REQUEST_OPEN' }, 'one open request per order')
  t.equal(simRefunds(h).size, 0, 'nothing reached WeChat Pay')
  t.equal((await h.sim_('/sim/stats')).calls.refund ?? 0, 0)

  const staff = h.staff()
  const approved = await h.callAs<RefundDecision>(Subjects.payment.adminApproveRefund, { requestId: asked.request.id }, staff)
  t.match(approved, { request: { status: 'APPROVED' }, order: { status: 'REFUNDING' }, refund: { amount: 1000, status: 'PROCESSING', reason: '不想要了' } })
  t.equal(approved.request.refundId, approved.refund?.id)
  const twice = await Promise.all([1, 2, 3].map(async () => await h.callAs<RefundDecision>(Subjects.payment.adminApproveRefund, { requestId: asked.request.id }, h.staff())))
  t.ok(twice.every((d) => d.refund?.id === approved.refund?.id), 'approving again answers the same refund')
  t.equal(simRefunds(h).size, 1, 'WeChat Pay has one refund')
  const outRefundNo = approved.refund?.outRefundNo as string
  t.match(await h.sim_('/sim/refund', { outRefundNo, result: 'SUCCESS' }), { http: 200 })
  const done = await h.until(async () => await h.row(orderId), (r) => r.status === 'PARTIALLY_REFUNDED')
  t.equal(done.refunded_amount, 1000)
  const history = await h.transitions(orderId)
  t.same(history.map((r) => r.to_status), ['PENDING', 'PAID', 'REFUND_REQUESTED', 'REFUNDING', 'PARTIALLY_REFUNDED'])
  t.same(history.slice(2, 4).map((r) => r.cause), ['refund_request', 'refund_approved'])
  t.equal((await h.events(EventSubjects.paymentRefunded)).length, 1)

  const trail = await auditTrail(h, 1)
  t.equal(trail.length, 1, 'one audit event for the approval, not one per approve call')
  t.match(trail[0], { action: 'refund_approved', actorId: staff.userId, actorRole: 'staff', orderId, outTradeNo, amount: 1000, refundRequestId: asked.request.id, outRefundNo })
  t.ok(Value.Check(AdminActionEvent, trail[0]), 'the event matches its contract')
  await t.rejects(h.callAs(Subjects.payment.adminDeclineRefund, { requestId: asked.request.id, reason: 'too late' }, staff), { statusCode: 409, code: 'REFUND_REQUEST_DECIDED' })
})

t.test('a declined request puts the order back with the reason recorded, and the buyer may ask again', async (t) => {
  const h = await buildPayment(t)
  const { userId, orderId } = await paidOrder(h)
  const asked = await requestRefund(h, userId, orderId, 2500)
  const staff = h.staff()
  const declined = await h.callAs<RefundDecision>(Subjects.payment.adminDeclineRefund, { requestId: asked.request.id, reason: '商品已使用' }, staff)
  t.match(declined, { request: { status: 'DECLINED', declineReason: '商品已使用', refundId: null }, order: { status: 'PAID' }, refund: null })
  const repeat = await h.callAs<RefundDecision>(Subjects.payment.adminDeclineRefund, { requestId: asked.request.id, reason: '商品已使用' }, staff)
  t.same(repeat, declined, 'declining again is the same decision')
  await t.rejects(h.callAs(Subjects.payment.adminApproveRefund, { requestId: asked.request.id }, staff), { statusCode: 409, code: 'REFUND_REQUEST_DECIDED' })
  t.equal(simRefunds(h).size, 0, 'no refund at WeChat Pay')
  t.equal((await h.row(orderId)).status, 'PAID')

  const detail = await h.callAs<AdminOrderDetail>(Subjects.payment.adminGetOrder, { id: orderId }, staff)
  t.match(detail.transitions.at(-1), { from: 'REFUND_REQUESTED', to: 'PAID', cause: 'refund_declined', detail: { reason: '商品已使用', requestId: asked.request.id } })
  t.match(detail.refundRequests, [{ id: asked.request.id, status: 'DECLINED', declineReason: '商品已使用' }])
  t.same(detail.refunds, [])
  t.match(detail.order, { id: orderId, userId, status: 'PAID' })
  t.notOk('payerOpenid' in detail.order || 'payer_openid' in detail.order, 'staff do not see the openid')

  const second = await requestRefund(h, userId, orderId, 100, randomUUID(), '再试一次')
  t.equal(second.order.status, 'REFUND_REQUESTED', 'a new request after a decline')
  const trail = await auditTrail(h, 1)
  t.equal(trail.length, 1)
  t.match(trail[0], { action: 'refund_declined', actorId: staff.userId, orderId, amount: 2500, reason: '商品已使用' })
})

t.test('a refund above what is left is refused and changes nothing, for a buyer\'s request and a merchant refund alike', async (t) => {
  const h = await buildPayment(t)
  const { userId, orderId } = await paidOrder(h)
  await t.rejects(requestRefund(h, userId, orderId, 2501), { statusCode: 422, code: 'REFUND_EXCEEDS_PAID', message: /2500 fen/ })
  const stranger = await h.newUser()
  await t.rejects(requestRefund(h, stranger, orderId, 100), { statusCode: 404, code: 'ORDER_NOT_FOUND' }, 'someone else\'s order is not found')
  const unpaid = (await h.createOrder(userId)).order
  await t.rejects(requestRefund(h, userId, unpaid.id, 100), { statusCode: 409, code: 'ORDER_NOT_REFUNDABLE' })

  const staffId = randomUUID()
  const merchant = await h.refund(staffId, orderId, 2000)
  t.match(merchant, { refund: { amount: 2000, status: 'PROCESSING' }, order: { status: 'REFUNDING' } })
  await h.sim_('/sim/refund', { outRefundNo: merchant.refund.outRefundNo, result: 'SUCCESS' })
  await h.until(async () => (await h.row(orderId)).status, (s) => s === 'PARTIALLY_REFUNDED')
  const before = await h.transitions(orderId)
  await t.rejects(h.refund(staffId, orderId, 501), { statusCode: 422, code: 'REFUND_EXCEEDS_PAID', message: /500 fen/ })
  await t.rejects(requestRefund(h, userId, orderId, 501), { statusCode: 422, code: 'REFUND_EXCEEDS_PAID', message: /500 fen/ })
  t.same(await h.transitions(orderId), before, 'no transition')
  t.equal(simRefunds(h).size, 1, 'no refund sent')
  const { rows } = await h.payment.app.pg.query('SELECT count(*)::int AS n FROM refund_requests WHERE order_id = $1', [orderId])
  t.equal(rows[0].n, 0, 'no request recorded')

  const trail = await auditTrail(h, 1)
  t.equal(trail.length, 1)
  t.match(trail[0], { action: 'refund_issued', actorId: staffId, orderId, amount: 2000, outRefundNo: merchant.refund.outRefundNo })
})

t.test('staff subjects refuse callers without the staff role, and money actions without a recent TOTP, even from the gateway', async (t) => {
  const h = await buildPayment(t, { env: { STEP_UP_MONEY_S: '60' } })
  const { userId, orderId } = await paidOrder(h)
  const asked = await requestRefund(h, userId, orderId, 100)
  const search = Subjects.payment.adminSearchOrders
  await t.rejects(h.callAs(search, {}, undefined), { statusCode: 401, code: 'UNAUTHENTICATED' }, 'no user')
  await t.rejects(h.call(search, {}, userId), { statusCode: 403, code: 'FORBIDDEN' }, 'no role header: a buyer')
  await t.rejects(h.callAs(search, {}, h.staff(userId, { role: 'buyer' })), { statusCode: 403, code: 'FORBIDDEN' })
  await t.rejects(h.callAs(search, {}, h.staff(userId, { role: 'root' })), { statusCode: 403, code: 'FORBIDDEN' }, 'an unknown role is no role')
  t.ok(await h.callAs(search, {}, h.staff(undefined, { role: 'admin' })), 'admins are staff too')
  for (const [subject, body] of [
    [Subjects.payment.adminGetOrder, { id: orderId }],
    [Subjects.payment.adminApproveRefund, { requestId: asked.request.id }],
    [Subjects.payment.adminDeclineRefund, { requestId: asked.request.id, reason: 'x' }],
    [Subjects.payment.refundOrder, { idempotencyKey: randomUUID(), orderId, amount: 1 }],
    [Subjects.payment.shipOrder, { orderId, expressCompany: 'SF', trackingNo: 'SF1' }],
    [Subjects.payment.adminCloseOrder, { id: orderId }]
  ] as const) {
    await t.rejects(h.call(subject, body, userId), { statusCode: 403, code: 'FORBIDDEN' }, `${subject} refuses a buyer`)
  }
  const approve = { requestId: asked.request.id }
  await t.rejects(h.callAs(Subjects.payment.adminApproveRefund, approve, h.staff(undefined, { authAgeS: 120 })), { statusCode: 401, code: 'AUTH_REAUTH_REQUIRED' }, 'a TOTP older than STEP_UP_MONEY_S')
  await t.rejects(h.callAs(Subjects.payment.adminApproveRefund, approve, h.staff(undefined, { amr: ['pwd'] })), { statusCode: 401, code: 'AUTH_REAUTH_REQUIRED' }, 'a password alone')
  await t.rejects(h.callAs(Subjects.payment.refundOrder, { idempotencyKey: randomUUID(), orderId, amount: 1 }, h.staff(undefined, { authAgeS: 120 })), { statusCode: 401, code: 'AUTH_REAUTH_REQUIRED' })
  t.equal((await h.row(orderId)).status, 'REFUND_REQUESTED', 'nothing changed')
  t.equal(simRefunds(h).size, 0)
  t.same(await auditTrail(h, 0), [], 'refused actions are not audited as done')
})

t.test('staff search orders by status, buyer, out_trade_no and time, page by page', async (t) => {
  const h = await buildPayment(t)
  const alice = await h.newUser()
  const bob = await h.newUser()
  const made: Order[] = []
  for (const who of [alice, bob, alice, alice]) made.push((await h.createOrder(who)).order)
  await h.pay(made[1]!.outTradeNo)
  await h.until(async () => (await h.row(made[1]!.id)).status, (s) => s === 'PAID')
  const staff = h.staff()
  const search = async (q: Record<string, unknown>): Promise<AdminOrderPage> => await h.callAs<AdminOrderPage>(Subjects.payment.adminSearchOrders, q, staff)
  const since = made[0]!.createdAt
  const ids = (p: AdminOrderPage): string[] => p.orders.map((o) => o.id)

  t.same(ids(await search({ userId: alice })), [made[3]!.id, made[2]!.id, made[0]!.id], 'a buyer\'s orders, newest first')
  t.same(ids(await search({ userId: bob, status: 'PAID' })), [made[1]!.id])
  t.same(ids(await search({ status: 'PAID', from: since })), [made[1]!.id], 'status within a time range')
  t.same(ids(await search({ outTradeNo: made[2]!.outTradeNo })), [made[2]!.id])
  t.same(ids(await search({ from: made[2]!.createdAt, userId: alice })), [made[3]!.id, made[2]!.id], 'from is inclusive')
  t.same(ids(await search({ to: made[2]!.createdAt, userId: alice })), [made[0]!.id], 'to is exclusive')
  t.match((await search({ userId: bob })).orders[0], { userId: bob, delivery: 'express', status: 'PAID', transactionId: /^\d+$/ })

  const seen: string[] = []
  let cursor: string | null = null
  do {
    const page: AdminOrderPage = await search(cursor === null ? { userId: alice, limit: 2 } : { userId: alice, limit: 2, cursor })
    t.ok(page.orders.length <= 2)
    seen.push(...ids(page))
    cursor = page.nextCursor
  } while (cursor !== null)
  t.same(seen, [made[3]!.id, made[2]!.id, made[0]!.id], 'pages neither skip nor repeat')
  await t.rejects(search({ limit: 101 }), { statusCode: 400, code: 'VALIDATION_FAILED' }, 'at most 100 a page')
  await t.rejects(search({ status: 'LOST' }), { statusCode: 400, code: 'VALIDATION_FAILED' })
  await t.rejects(search({ cursor: 'Zm9vOmJhcg' }), { statusCode: 400, code: 'CURSOR_INVALID' })
  await t.rejects(h.callAs(Subjects.payment.adminGetOrder, { id: randomUUID() }, staff), { statusCode: 404, code: 'ORDER_NOT_FOUND' })
})

t.test('unpaid orders close at WeChat Pay first: staff close any, a buyer cancels only their own', async (t) => {
  const h = await buildPayment(t)
  const alice = await h.newUser()
  const bob = await h.newUser()
  const staff = h.staff()

  const a = (await h.createOrder(alice)).order
  await t.rejects(h.call(Subjects.payment.cancelOrder, { id: a.id }, bob), { statusCode: 404, code: 'ORDER_NOT_FOUND' }, 'not someone else\'s')
  t.equal(simOrderState(h, a.outTradeNo), 'NOTPAY', 'still payable')
  const cancelled = await h.call<Order>(Subjects.payment.cancelOrder, { id: a.id }, alice)
  t.match(cancelled, { id: a.id, status: 'CLOSED' })
  t.ok(cancelled.closedAt)
  t.equal(simOrderState(h, a.outTradeNo), 'CLOSED', 'closed at WeChat Pay')
  t.equal((await h.sim_('/sim/pay', { outTradeNo: a.outTradeNo, result: 'SUCCESS' })).http >= 400, true, 'the phone can no longer pay it')
  t.match(await h.call<Order>(Subjects.payment.cancelOrder, { id: a.id }, alice), { status: 'CLOSED' }, 'cancelling again is the same answer')
  t.match((await h.transitions(a.id)).at(-1), { from_status: 'PENDING', to_status: 'CLOSED', cause: 'cancelled_by_buyer' })

  const b = (await h.createOrder(bob)).order
  const closed = await h.callAs<Order>(Subjects.payment.adminCloseOrder, { id: b.id }, staff)
  t.match(closed, { id: b.id, status: 'CLOSED' })
  t.equal(simOrderState(h, b.outTradeNo), 'CLOSED')
  await h.callAs<Order>(Subjects.payment.adminCloseOrder, { id: b.id }, staff)
  t.match((await h.transitions(b.id)).at(-1), { to_status: 'CLOSED', cause: 'closed_by_staff' })

  const paid = await paidOrder(h)
  await t.rejects(h.callAs(Subjects.payment.adminCloseOrder, { id: paid.orderId }, staff), { statusCode: 409, code: 'ORDER_NOT_CLOSABLE', message: /PAID/ })
  await t.rejects(h.call(Subjects.payment.cancelOrder, { id: paid.orderId }, paid.userId), { statusCode: 409, code: 'ORDER_NOT_CLOSABLE' })

  // Paid at WeChat Pay a moment before the close (its notification not here yet): recorded as paid, not closed.
  const late = (await h.createOrder(alice)).order
  await h.sim_('/sim/pay', { outTradeNo: late.outTradeNo, result: 'SUCCESS', delayMs: 60_000 })
  await t.rejects(h.call(Subjects.payment.cancelOrder, { id: late.id }, alice), { statusCode: 409, code: 'ORDER_NOT_CLOSABLE', message: /PAID/ })
  t.equal((await h.row(late.id)).status, 'PAID')

  const trail = await auditTrail(h, 1)
  t.equal(trail.length, 1, 'one audit event: the staff close, once; buyers\' cancels are not staff actions')
  t.match(trail[0], { action: 'order_closed', actorId: staff.userId, orderId: b.id, outTradeNo: b.outTradeNo })
})

t.test('a virtual order reported to the platform while its refund request waits is SHIPPED once the request is declined', async (t) => {
  const h = await buildPayment(t, { sim: { SIM_VIRTUAL_AUTO_CONFIRM_MS: '-1' } })
  await h.payment.app.pg.query("INSERT INTO products (id, name, price, delivery) VALUES ('e-stickers', '电子表情包', 100, 'virtual') ON CONFLICT (id) DO NOTHING")
  // The automatic report at PAID takes two seconds to reach the platform: the buyer asks for a refund meanwhile.
  t.match(await h.sim_('/sim/faults', { endpoint: 'upload_shipping_info', latencyMs: 2000, times: 1 }), { http: 200 })
  const { userId, orderId } = await paidOrder(h, 'e-stickers')
  const asked = await requestRefund(h, userId, orderId, 100)
  t.equal(asked.order.status, 'REFUND_REQUESTED')
  await h.until(async () => (await h.payment.app.pg.query('SELECT state FROM shipments WHERE order_id = $1', [orderId])).rows[0]?.state, (s) => s === 'reported')
  t.equal((await h.row(orderId)).status, 'REFUND_REQUESTED', 'the report does not override the waiting request')
  const declined = await h.callAs<RefundDecision>(Subjects.payment.adminDeclineRefund, { requestId: asked.request.id, reason: '已发放' }, h.staff())
  t.equal(declined.order.status, 'SHIPPED', 'declined: the order catches up with the platform')
  t.same((await h.transitions(orderId)).map((r) => r.to_status), ['PENDING', 'PAID', 'REFUND_REQUESTED', 'PAID', 'SHIPPED'])
  t.equal((await h.events(EventSubjects.paymentShipped)).length, 1)
})
