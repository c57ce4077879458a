import t from 'tap'
import { randomUUID } from 'node:crypto'
import { EventSubjects } from '@wxmp/contracts'
import { connectOperator, readEvents } from '@wxmp/service/testing'
import { eventually } from '../helpers/client.js'
import { buildPayStack, staffToken, type PayStack } from './pay-stack.js'

async function paidOrder (s: PayStack, token: string, productId = 'latte'): Promise<{ id: string, outTradeNo: string, amount: number }> {
  const order = (await s.api(token, 'POST', '/v1/payments/orders', { productId, quantity: 1 }, { 'idempotency-key': randomUUID() })).json()
  await s.phone('/sim/pay', { outTradeNo: order.outTradeNo, result: 'SUCCESS' })
  await eventually(async () => (await s.api(token, 'GET', `/v1/payments/orders/${order.id}`)).json(), (o) => o.status === 'PAID')
  return order
}

t.test('a buyer\'s refund request waits for staff; staff approve it through the gateway and the refund completes, audited once', async (t) => {
  const s = await buildPayStack(t)
  const buyer = await s.login()
  const order = await paidOrder(s, buyer)
  const asked = await s.api(buyer, 'POST', `/v1/payments/orders/${order.id}/refund-requests`, { amount: order.amount, reason: '不想要了' }, { 'idempotency-key': randomUUID() })
  t.equal(asked.status, 201, asked.body)
  const requestId = asked.json().request.id

  for (const [method, path] of [['GET', '/v1/admin/orders'], ['GET', `/v1/admin/orders/${order.id}`], ['POST', `/v1/admin/refund-requests/${requestId}/approve`]]) {
    const res = await s.api(buyer, method!, path!)
    t.equal(res.status, 403, `${method} ${path} refuses a buyer's token`)
    t.equal(res.json().error.code, 'FORBIDDEN')
  }
  t.equal((await s.phone('/sim/stats')).calls.refund ?? 0, 0, 'nothing refunded while it waits')

  const stale = await staffToken(s, { authAgeS: 3600 })
  const tooOld = await s.api(stale.token, 'POST', `/v1/admin/refund-requests/${requestId}/approve`)
  t.equal(tooOld.status, 401, 'a staff token older than the step-up window cannot approve a refund')
  t.equal(tooOld.json().error.code, 'AUTH_REAUTH_REQUIRED')
  const listed = await s.api(stale.token, 'GET', '/v1/admin/orders?status=REFUND_REQUESTED')
  t.equal(listed.status, 200, 'but it can still read')
  t.ok(listed.json().orders.some((o: { id: string }) => o.id === order.id))

  const staff = await staffToken(s)
  const approved = await s.api(staff.token, 'POST', `/v1/admin/refund-requests/${requestId}/approve`, undefined, { 'content-type': 'application/json' })
  t.equal(approved.status, 200, approved.body)
  t.match(approved.json(), { request: { status: 'APPROVED' }, order: { status: 'REFUNDING' }, refund: { amount: order.amount, status: 'PROCESSING' } })
  const again = await s.api(staff.token, 'POST', `/v1/admin/refund-requests/${requestId}/approve`)
  t.equal(again.json().refund.id, approved.json().refund.id, 'approving twice is one refund')
  const refunded = await eventually(async () => (await s.api(buyer, 'GET', `/v1/payments/orders/${order.id}`)).json(), (o) => o.status === 'REFUNDED')
  t.equal(refunded.refundedAmount, order.amount)

  const detail = (await s.api(staff.token, 'GET', `/v1/admin/orders/${order.id}`)).json()
  t.same(detail.transitions.map((x: { to: string }) => x.to), ['PENDING', 'PAID', 'REFUND_REQUESTED', 'REFUNDING', 'REFUNDED'])
  const prefix = s.payment.config.NATS_SUBJECT_PREFIX
  const operator = await connectOperator(t, prefix)
  const audit = await readEvents(operator, prefix, EventSubjects.adminRefundApproved)
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal((await readEvents(operator, prefix, EventSubjects.adminRefundApproved)).length, 1, 'one audit event')
  t.match(audit[0], { actorId: staff.userId, orderId: order.id, amount: order.amount })
})

t.test('staff refund on the merchant\'s initiative (fresh TOTP only), ship a physical order to SETTLED, and close an unpaid one', async (t) => {
  const s = await buildPayStack(t, { pushes: true })
  const buyer = await s.login()
  const staff = await staffToken(s)
  const order = await paidOrder(s, buyer)

  const pwdOnly = await staffToken(s, { amr: ['pwd'] })
  const weak = await s.api(pwdOnly.token, 'POST', `/v1/admin/orders/${order.id}/refunds`, { amount: 100 }, { 'idempotency-key': randomUUID() })
  t.equal(weak.status, 401, 'a password alone is not enough to move money')
  t.equal(weak.json().error.code, 'AUTH_REAUTH_REQUIRED')
  const tooMuch = await s.api(staff.token, 'POST', `/v1/admin/orders/${order.id}/refunds`, { amount: order.amount + 1 }, { 'idempotency-key': randomUUID() })
  t.equal(tooMuch.status, 422)
  t.equal(tooMuch.json().error.code, 'REFUND_EXCEEDS_PAID')
  const missingKey = await s.api(staff.token, 'POST', `/v1/admin/orders/${order.id}/refunds`, { amount: 100 })
  t.equal(missingKey.json().error.code, 'IDEMPOTENCY_KEY_MISSING')
  const partial = await s.api(staff.token, 'POST', `/v1/admin/orders/${order.id}/refunds`, { amount: 100, reason: '补偿' }, { 'idempotency-key': randomUUID() })
  t.equal(partial.status, 201, partial.body)
  const after = await eventually(async () => (await s.api(buyer, 'GET', `/v1/payments/orders/${order.id}`)).json(), (o) => o.status === 'PARTIALLY_REFUNDED')
  t.equal(after.refundedAmount, 100)

  const physical = await paidOrder(s, buyer)
  const shipped = await s.api(staff.token, 'POST', `/v1/admin/orders/${physical.id}/ship`, { expressCompany: 'SF', trackingNo: 'SF1234567890', receiverContact: '138****8000' })
  t.equal(shipped.status, 200, shipped.body)
  t.match(shipped.json(), { shipment: 'reported', order: { status: 'SHIPPED' } })
  t.match(await s.phone('/sim/confirm-receipt', { outTradeNo: physical.outTradeNo }), { http: 200 })
  const settled = await eventually(async () => (await s.api(buyer, 'GET', `/v1/payments/orders/${physical.id}`)).json(), (o) => o.status === 'SETTLED', { timeoutMs: 20_000 })
  t.equal(settled.status, 'SETTLED', 'WeChat\'s settlement push reached payment through the gateway and auth')

  const unpaid = (await s.api(buyer, 'POST', '/v1/payments/orders', { productId: 'latte', quantity: 1 }, { 'idempotency-key': randomUUID() })).json()
  const closed = await s.api(staff.token, 'POST', `/v1/admin/orders/${unpaid.id}/close`)
  t.equal(closed.status, 200, closed.body)
  t.equal(closed.json().status, 'CLOSED')
  t.equal((s.sim.app as any).sim.pay.orders.get(unpaid.outTradeNo)?.state, 'CLOSED', 'closed at WeChat Pay first')

  const prefix = s.payment.config.NATS_SUBJECT_PREFIX
  const operator = await connectOperator(t, prefix)
  for (const subject of [EventSubjects.adminRefundIssued, EventSubjects.adminOrderShipped, EventSubjects.adminOrderClosed]) {
    await readEvents(operator, prefix, subject)
  }
  await new Promise((resolve) => setTimeout(resolve, 300))
  for (const subject of [EventSubjects.adminRefundIssued, EventSubjects.adminOrderShipped, EventSubjects.adminOrderClosed]) {
    const events = await readEvents(operator, prefix, subject)
    t.equal(events.length, 1, `one ${subject}`)
    t.equal(events[0]?.actorId, staff.userId)
  }
})
