import t from 'tap'
import { randomUUID } from 'node:crypto'
import { connectOperator, readEvents } from '@wxmp/service/testing'
import { eventually } from '../helpers/client.js'
import { buildPayStack } from './pay-stack.js'

t.test('login -> order -> the phone pays -> PAID -> the buyer asks for a refund, which waits for the merchant, all through the gateway', async (t) => {
  const s = await buildPayStack(t)
  const products = await s.api('', 'GET', '/v1/payments/products')
  t.equal(products.status, 200, 'the catalog is public')
  t.same(products.json().find((p: { id: string }) => p.id === 'latte'), { id: 'latte', name: '拿铁咖啡', price: 1800 })

  const token = await s.login()
  const key = randomUUID()
  const created = await s.api(token, 'POST', '/v1/payments/orders', { productId: 'latte', quantity: 2 }, { 'idempotency-key': key })
  t.equal(created.status, 201, created.body)
  const order = created.json()
  t.match(order, { status: 'PENDING', amount: 3600, productId: 'latte', quantity: 2, currency: 'CNY' })
  t.match(order.payParams, { appId: s.sim.keys.appid, signType: 'RSA', package: /^prepay_id=/ })
  t.equal(created.headers['idempotent-replayed'], undefined)

  const again = await s.api(token, 'POST', '/v1/payments/orders', { productId: 'latte', quantity: 2 }, { 'idempotency-key': key })
  t.equal(again.status, 201, 'the stored status')
  t.equal(again.body, created.body, 'and the stored body, byte for byte')
  t.equal(again.headers['idempotent-replayed'], 'true')

  // The phone pays; WeChat Pay's signed notification goes to the gateway's notify route over HTTPS.
  const paid = await s.phone('/sim/pay', { outTradeNo: order.outTradeNo, result: 'SUCCESS' })
  t.equal(paid.tradeState, 'SUCCESS')
  const afterPay = await eventually(async () => (await s.api(token, 'GET', `/v1/payments/orders/${order.id}`)).json(), (o) => o.status === 'PAID')
  t.equal(afterPay.status, 'PAID')
  t.ok(afterPay.paidAt)
  const delivery = await eventually(async () => await s.phone(`/sim/notifications?subject=${order.outTradeNo}`), (r) => r.notifications[0]?.state === 'delivered')
  t.equal(delivery.notifications[0].attempts.length, 1, 'accepted at the first attempt')

  const direct = await s.api(token, 'POST', `/v1/payments/orders/${order.id}/refunds`, { amount: 3600 }, { 'idempotency-key': randomUUID() })
  t.equal(direct.status, 404, 'buyers no longer refund themselves')
  const refundKey = randomUUID()
  const asked = await s.api(token, 'POST', `/v1/payments/orders/${order.id}/refund-requests`, { amount: 3600, reason: '不想要了' }, { 'idempotency-key': refundKey })
  t.equal(asked.status, 201, asked.body)
  t.match(asked.json(), { request: { amount: 3600, status: 'REQUESTED', reason: '不想要了' }, order: { status: 'REFUND_REQUESTED' } })
  const replayed = await s.api(token, 'POST', `/v1/payments/orders/${order.id}/refund-requests`, { amount: 3600, reason: '不想要了' }, { 'idempotency-key': refundKey })
  t.equal(replayed.headers['idempotent-replayed'], 'true')
  t.equal(replayed.body, asked.body)
  t.equal((await s.api(token, 'GET', `/v1/payments/orders/${order.id}`)).json().status, 'REFUND_REQUESTED')
  t.equal((await s.phone('/sim/stats')).calls.refund ?? 0, 0, 'nothing refunded at WeChat Pay until staff approve')
  const staffOnly = await s.api(token, 'POST', `/v1/admin/refund-requests/${asked.json().request.id}/approve`)
  t.equal(staffOnly.status, 403, 'a buyer cannot approve their own request')
  t.equal(staffOnly.json().error.code, 'FORBIDDEN')

  const list = await s.api(token, 'GET', '/v1/payments/orders?limit=10')
  t.equal(list.status, 200)
  t.same(list.json().orders.map((o: { id: string }) => o.id), [order.id])
  t.equal(list.json().nextCursor, null)

  const prefix = s.payment.config.NATS_SUBJECT_PREFIX
  const operator = await connectOperator(t, prefix)
  t.equal((await readEvents(operator, prefix, 'events.payment.succeeded')).length, 1)
})

t.test('Idempotency-Key at the edge: missing 400, malformed 400, quoted or bare the same key, a different body 422, in flight 409', async (t) => {
  const s = await buildPayStack(t)
  const token = await s.login()
  const order = (key?: string, body: unknown = { productId: 'postcard', quantity: 1 }) =>
    s.api(token, 'POST', '/v1/payments/orders', body, key === undefined ? {} : { 'idempotency-key': key })

  const missing = await order()
  t.equal(missing.status, 400)
  t.equal(missing.json().error.code, 'IDEMPOTENCY_KEY_MISSING')
  for (const bad of ['x'.repeat(256), '"unterminated', '"a"b"', 'caf\u00e9']) {
    const res = await order(bad)
    t.equal(res.status, 400, JSON.stringify(bad))
    t.equal(res.json().error.code, 'IDEMPOTENCY_KEY_INVALID')
  }
  const refundMissing = await s.api(token, 'POST', `/v1/payments/orders/${randomUUID()}/refund-requests`, { amount: 1, reason: 'x' })
  t.equal(refundMissing.json().error.code, 'IDEMPOTENCY_KEY_MISSING', 'refund requests need one too')

  const quoted = await order('"order-1 \\"A\\""')
  t.equal(quoted.status, 201)
  const bare = await order('order-1 "A"')
  t.equal(bare.status, 201)
  t.equal(bare.headers['idempotent-replayed'], 'true', 'the quoted form is the same key as the bare one')
  t.equal(bare.json().id, quoted.json().id)

  const changed = await order('order-1 "A"', { productId: 'postcard', quantity: 2 })
  t.equal(changed.status, 422)
  t.equal(changed.json().error.code, 'IDEMPOTENCY_KEY_REUSED')

  await s.phone('/sim/faults', { endpoint: 'jsapi', latencyMs: 500, times: 1 })
  const key = randomUUID()
  const [first, second] = await Promise.all([order(key), new Promise((resolve) => setTimeout(resolve, 150)).then(async () => await order(key))])
  t.equal(first.status, 201)
  t.equal(second.status, 409)
  t.equal(second.json().error.code, 'IDEMPOTENCY_KEY_IN_USE')
  t.match(second.json().error.traceId, /^[0-9a-f]{32}$/)

  const priced = await order(randomUUID(), { productId: 'postcard', quantity: 1, price: 1 })
  t.equal(priced.status, 400, 'a client cannot send a price')
  const anonymous = await s.api('', 'POST', '/v1/payments/orders', { productId: 'postcard', quantity: 1 }, { 'idempotency-key': randomUUID() })
  t.equal(anonymous.status, 401)

  const doc = (await s.api('', 'GET', '/docs/json')).json()
  for (const path of ['/v1/payments/orders', '/v1/payments/orders/{id}/refund-requests', '/v1/admin/orders/{id}/refunds']) {
    t.ok(doc.paths[path].post.parameters.some((p: { in: string, name: string }) => p.in === 'header' && p.name === 'idempotency-key'), `${path} documents its Idempotency-Key`)
  }
})

t.test('a user sees only their own orders; anyone else\'s is a 404, for reading, asking a refund and cancelling', async (t) => {
  const s = await buildPayStack(t)
  const alice = await s.login()
  const bob = await s.login()
  const mine = (await s.api(alice, 'POST', '/v1/payments/orders', { productId: 'latte', quantity: 1 }, { 'idempotency-key': randomUUID() })).json()
  const read = await s.api(bob, 'GET', `/v1/payments/orders/${mine.id}`)
  t.equal(read.status, 404)
  t.equal(read.json().error.code, 'ORDER_NOT_FOUND')
  const refund = await s.api(bob, 'POST', `/v1/payments/orders/${mine.id}/refund-requests`, { amount: 1, reason: 'x' }, { 'idempotency-key': randomUUID() })
  t.equal(refund.status, 404)
  const cancel = await s.api(bob, 'POST', `/v1/payments/orders/${mine.id}/cancel`)
  t.equal(cancel.status, 404)
  t.equal(cancel.json().error.code, 'ORDER_NOT_FOUND')
  // wx.request sends content-type: application/json with an empty body on a POST without data.
  const cancelled = await s.api(alice, 'POST', `/v1/payments/orders/${mine.id}/cancel`, undefined, { 'content-type': 'application/json' })
  t.equal(cancelled.status, 200, cancelled.body)
  t.match(cancelled.json(), { id: mine.id, status: 'CLOSED' })
  t.equal((s.sim.app as any).sim.pay.orders.get(mine.outTradeNo)?.state, 'CLOSED', 'closed at WeChat Pay')
  t.same((await s.api(bob, 'GET', '/v1/payments/orders')).json(), { orders: [], nextCursor: null })
  t.equal((await s.api(alice, 'GET', `/v1/payments/orders/${mine.id}`)).json().id, mine.id)
  t.equal((await s.api(alice, 'GET', '/v1/payments/orders/not-a-uuid')).status, 400)
})
