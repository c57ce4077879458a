import t from 'tap'
import { randomUUID } from 'node:crypto'
import { connectOperator, readEvents } from '@wxmp/service/testing'
import { eventually } from '../helpers/client.js'
import { hmac, simView, virtualStack } from './virtual-stack.js'
import { staffToken } from './pay-stack.js'

// Virtual goods on WeChat's virtual payment through the real gateway, auth, payment and the simulator.

t.test('a virtual order: signed parameters, paid on the phone, delivered once, refunded; no session_key anywhere', async (t) => {
  const s = await virtualStack(t)
  const { token, openid } = await s.signIn()
  const key = randomUUID()
  const created = await s.order(token, key)
  t.equal(created.status, 201, created.body)
  const order = created.json()
  t.match(order, { status: 'PENDING', rail: 'virtual', productId: 'vip-month', amount: 2500 })
  t.notOk('payParams' in order, 'no JSAPI parameters on the virtual rail')
  const vp = order.virtualPayment
  t.equal(vp.mode, 'short_series_goods')
  t.same(JSON.parse(vp.signData), { offerId: s.sim.keys.xpayOfferId, buyQuantity: 1, env: 0, currencyType: 'CNY', productId: 'vip-month', goodsPrice: 2500, outTradeNo: order.outTradeNo, attach: order.id })
  t.equal(vp.paySig, hmac(s.sim.keys.xpayAppKey, `requestVirtualPayment&${vp.signData}`), 'paySig: HMAC-SHA256 with the AppKey over requestVirtualPayment& + signData')

  const again = await s.order(token, key)
  t.equal(again.body, created.body, 'a replay returns the same parameters, byte for byte')
  t.equal(again.headers['idempotent-replayed'], 'true')

  // The phone: a paySig made with another AppKey is refused as WeChat refuses it; nothing is paid.
  const forged = await s.phone('/sim/virtual-pay', { openid, mode: vp.mode, signData: vp.signData, signature: vp.signature, paySig: hmac('another-app-key', `requestVirtualPayment&${vp.signData}`) })
  t.match(forged, { http: 400, errCode: -15005, errMsg: /paySig/ })
  const paid = await s.phone('/sim/virtual-pay', { openid, mode: vp.mode, signData: vp.signData, paySig: vp.paySig, signature: vp.signature })
  t.equal(paid.http, 200, JSON.stringify(paid))

  const afterPay = await eventually(async () => await s.status(token, order.id), (o) => o.status === 'PAID')
  t.ok(afterPay.paidAt)
  const sim = simView(s)
  const delivery = await eventually(async () => sim.pusher.list().find((d) => d.event === 'xpay_goods_deliver_notify' && d.subject === order.outTradeNo), (d) => d?.state === 'delivered')
  t.same(JSON.parse(delivery!.attempts[0]!.answer!), { ErrCode: 0, ErrMsg: 'success' }, 'the push is answered as WeChat expects')
  t.equal(sim.xpay.orders.get(order.outTradeNo)?.status, 4, 'WeChat records the goods as delivered')

  const transitions = await s.payment.app.pg.query("SELECT count(*)::int AS n FROM order_transitions WHERE order_id = $1 AND to_status = 'PAID'", [order.id])
  t.equal(transitions.rows[0].n, 1, 'one PENDING -> PAID')
  const prefix = s.payment.config.NATS_SUBJECT_PREFIX
  const operator = await connectOperator(t, prefix)
  t.equal((await readEvents(operator, prefix, 'events.payment.succeeded', { waitMs: 500 })).length, 1, 'one payment.succeeded')

  // The buyer asks, staff approve; the refund goes through refund_order and xpay_refund_notify settles it.
  const asked = await s.api(token, 'POST', `/v1/payments/orders/${order.id}/refund-requests`, { amount: 2500, reason: '不想要了' }, { 'idempotency-key': randomUUID() })
  t.equal(asked.status, 201, asked.body)
  const staff = await staffToken(s)
  const refund = await s.api(staff.token, 'POST', `/v1/admin/refund-requests/${asked.json().request.id as string}/approve`)
  t.equal(refund.status, 200, refund.body)
  t.match(refund.json(), { refund: { amount: 2500, status: 'PROCESSING' }, order: { status: 'REFUNDING' } })
  const refunded = await eventually(async () => await s.status(token, order.id), (o) => o.status === 'REFUNDED')
  t.equal(refunded.refundedAmount, 2500)
  t.equal((await readEvents(operator, prefix, 'events.payment.refunded', { atLeast: 1 })).length, 1, 'one payment.refunded')

  // The secret-leak scan, over the new paths: no response and no log line carries a session_key.
  const sessionKeys = [...sim.mp.users.values()].map((u) => u.sessionKey).filter((k): k is string => k !== undefined)
  t.ok(sessionKeys.length >= 1)
  const everything = [...s.responses, ...s.gateway.logs.raw, ...s.auth.logs.raw, ...s.payment.logs.raw, ...s.user.logs.raw].join('\n')
  for (const k of sessionKeys) t.notOk(everything.includes(k), 'session_key absent from responses and logs')
})

t.test('a session_key WeChat replaced: the phone refuses old signatures, the order is 409 AUTH_SESSION_KEY_STALE, and a fresh wx.login fixes it', async (t) => {
  const s = await virtualStack(t)
  const { token, openid } = await s.signIn()
  const first = (await s.order(token, randomUUID(), 'sticker-pack')).json()
  t.equal(first.rail, 'virtual')

  // A wx.login whose code went elsewhere: WeChat has a new session_key, ours is stale.
  t.equal((await s.phone('/sim/session-key/renew', { openid })).renewed, true)
  const vp = first.virtualPayment
  const refused = await s.phone('/sim/virtual-pay', { openid, mode: vp.mode, signData: vp.signData, paySig: vp.paySig, signature: vp.signature })
  t.match(refused, { http: 400, errCode: -15007 }, 'the phone refuses a signature made with the old key')

  const key = randomUUID()
  const stale = await s.order(token, key, 'sticker-pack')
  t.equal(stale.status, 409, stale.body)
  t.equal(stale.json().error.code, 'AUTH_SESSION_KEY_STALE')
  t.match(stale.json().error.message, /wx\.login/)

  // What the SDK does: one fresh wx.login, then the same request with the same Idempotency-Key.
  const fresh = await s.signIn(openid)
  const retried = await s.order(fresh.token, key, 'sticker-pack')
  t.equal(retried.status, 201, retried.body)
  const vp2 = retried.json().virtualPayment
  const paid = await s.phone('/sim/virtual-pay', { openid, mode: vp2.mode, signData: vp2.signData, paySig: vp2.paySig, signature: vp2.signature })
  t.equal(paid.http, 200, JSON.stringify(paid))
  await eventually(async () => await s.status(fresh.token, retried.json().id), (o) => o.status === 'PAID')
  const orders = (await s.api(fresh.token, 'GET', '/v1/payments/orders?limit=10')).json().orders
  t.equal(orders.length, 2, 'the refused attempt and its retry made one order')
})

t.test('the reconciler settles a virtual order whose deliver push was lost, and tells WeChat it delivered', async (t) => {
  const s = await virtualStack(t)
  const { token, openid } = await s.signIn()
  const order = (await s.order(token, randomUUID())).json()
  const vp = order.virtualPayment
  const paid = await s.phone('/sim/virtual-pay', { openid, mode: vp.mode, signData: vp.signData, paySig: vp.paySig, signature: vp.signature, push: 'lost' })
  t.equal(paid.http, 200)
  t.equal((await s.status(token, order.id)).status, 'PENDING', 'no push, no payment seen yet')
  t.equal((await s.phone(`/sim/xpay/orders/${order.outTradeNo}`)).status, 2, 'WeChat waits for delivery')

  const report = await s.payment.app.reconciler.runOnce()
  t.equal(report.paid, 1)
  t.equal((await s.status(token, order.id)).status, 'PAID')
  t.equal((await s.phone(`/sim/xpay/orders/${order.outTradeNo}`)).status, 4, 'notify_provide_goods told WeChat the goods were delivered')
  const transitions = await s.payment.app.pg.query('SELECT cause FROM order_transitions WHERE order_id = $1 AND to_status = \'PAID\'', [order.id])
  t.same(transitions.rows, [{ cause: 'reconciler' }])
})
