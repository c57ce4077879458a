import t from 'tap'
import { createVerify, randomUUID } from 'node:crypto'
import { Subjects, type CreatedOrder, type OrderPage } from '@wxmp/contracts'
import { buildPayment } from './helpers/harness.js'

const settle = async <T>(p: Promise<T>): Promise<{ ok: T } | { err: { statusCode: number, code: string, message: string } }> =>
  await p.then((ok) => ({ ok }), (err) => ({ err }))

t.test('an order costs what the catalog says and comes with pay parameters signed by the merchant key', async (t) => {
  const h = await buildPayment(t)
  const products = await h.call<Array<{ id: string, name: string, price: number }>>(Subjects.payment.listProducts, {})
  t.same(products.map((p) => [p.id, p.price]), [['postcard', 100], ['sticker-pack', 100], ['latte', 1800], ['tote-bag', 2500], ['vip-month', 2500]], 'the seeded catalog, prices in fen')

  const userId = await h.newUser()
  const { replayed, order } = await h.createOrder(userId, { productId: 'latte', quantity: 3 })
  t.equal(replayed, false)
  t.equal(order.amount, 5400, '3 x 1800 fen, computed by the server')
  t.equal(order.status, 'PENDING')
  t.equal(order.currency, 'CNY')
  t.match(order.outTradeNo, /^[A-Za-z0-9_|*-]{6,32}$/, 'within WeChat Pay\'s out_trade_no rules')
  t.equal(order.description, '拿铁咖啡 ×3')

  const p = order.payParams!
  t.equal(p.appId, h.sim.keys.appid)
  t.equal(p.signType, 'RSA')
  t.match(p.package, /^prepay_id=wx\d{14}[0-9a-f]{20}$/)
  t.match(p.timeStamp, /^\d{10}$/)
  const verified = createVerify('RSA-SHA256').update(`${p.appId}\n${p.timeStamp}\n${p.nonceStr}\n${p.package}\n`).verify(h.sim.keys.merchantPublicKeyPem, p.paySign, 'base64')
  t.ok(verified, 'paySign verifies with the merchant public key, as wx.requestPayment checks it')

  // What WeChat Pay was asked for: the same amount, for this payer, payable until the order expires.
  const wechat = (h.sim.app as any).sim.pay.orders.get(order.outTradeNo)
  t.equal(wechat.total, 5400)
  t.equal(wechat.notifyUrl, h.relay.url)
  t.equal(wechat.timeExpire, Date.parse(order.expiresAt))

  // A client cannot name a price, or order what is not for sale, or silly quantities.
  for (const bad of [
    { idempotencyKey: randomUUID(), productId: 'latte', quantity: 1, amount: 1 },
    { idempotencyKey: randomUUID(), productId: 'latte', quantity: 0 },
    { idempotencyKey: randomUUID(), productId: 'latte', quantity: 100 },
    { idempotencyKey: randomUUID(), productId: 'latte', quantity: 1.5 },
    { idempotencyKey: randomUUID(), productId: 'latte', quantity: '2' },
    { productId: 'latte', quantity: 1 },
    { idempotencyKey: '', productId: 'latte', quantity: 1 },
    { idempotencyKey: 'x'.repeat(256), productId: 'latte', quantity: 1 },
    { idempotencyKey: 'tab\there', productId: 'latte', quantity: 1 }
  ]) {
    await t.rejects(h.call(Subjects.payment.createOrder, bad, userId), { statusCode: 400, code: 'VALIDATION_FAILED' }, JSON.stringify(bad))
  }
  await t.rejects(h.createOrder(userId, { productId: 'no-such-thing' }), { statusCode: 404, code: 'PRODUCT_NOT_FOUND' })
  await h.payment.app.pg.query("UPDATE products SET active = false WHERE id = 'tote-bag'")
  await t.rejects(h.createOrder(userId, { productId: 'tote-bag' }), { statusCode: 404, code: 'PRODUCT_NOT_FOUND' }, 'a withdrawn product is not for sale')
  await t.rejects(h.call(Subjects.payment.createOrder, { idempotencyKey: randomUUID(), productId: 'latte', quantity: 1 }), { statusCode: 401, code: 'UNAUTHENTICATED' }, 'anonymous callers cannot order')
  const { rows } = await h.payment.app.pg.query('SELECT count(*)::int AS n FROM orders')
  t.equal(rows[0].n, 1, 'only the good request made an order')
})

t.test('50 concurrent creates with one key make one order and one prepay; every answer is that order or 409', async (t) => {
  const h = await buildPayment(t)
  const userId = await h.newUser()
  const key = randomUUID()
  // A slow WeChat Pay keeps the first request running while the others arrive.
  await h.sim_('/sim/faults', { endpoint: 'jsapi', latencyMs: 300, times: 1 })
  const results = await Promise.all(Array.from({ length: 50 }, async () => await settle(h.createOrder(userId, { productId: 'latte', quantity: 2 }, key))))
  const ok = results.flatMap((r) => 'ok' in r ? [r.ok] : [])
  const errors = results.flatMap((r) => 'err' in r ? [r.err] : [])
  t.ok(ok.length >= 1, `${ok.length} got the order`)
  t.same(new Set(errors.map((e) => `${e.statusCode} ${e.code}`)), new Set(errors.length > 0 ? ['409 IDEMPOTENCY_KEY_IN_USE'] : []), 'the rest were told the first is still running')
  t.equal(new Set(ok.map((r) => r.order.id)).size, 1, 'one order id in every answer')

  const { rows } = await h.payment.app.pg.query('SELECT id, out_trade_no FROM orders')
  t.equal(rows.length, 1, 'one order row')
  const stats = await h.sim_('/sim/stats')
  t.equal(stats.prepay[rows[0].out_trade_no], 1, 'WeChat Pay saw one prepay')
  t.equal(stats.calls.jsapi, 1)

  // Once finished, the same key keeps answering with the first response, byte for byte, and no new prepay.
  const first = ok.find((r) => !r.replayed)?.order as CreatedOrder
  t.ok(first, 'one answer was the original')
  for (let i = 0; i < 3; i++) {
    const again = await h.createOrder(userId, { productId: 'latte', quantity: 2 }, key)
    t.equal(again.replayed, true)
    t.same(again.order, first, 'the stored first response, payParams included')
  }
  t.equal((await h.sim_('/sim/stats')).calls.jsapi, 1, 'replays do not call WeChat Pay')
})

t.test('the same key with a different body is 422; keys belong to their user', async (t) => {
  const h = await buildPayment(t)
  const alice = await h.newUser()
  const bob = await h.newUser()
  const key = 'checkout-7f3a'
  const first = await h.createOrder(alice, { productId: 'latte', quantity: 1 }, key)
  await t.rejects(h.createOrder(alice, { productId: 'latte', quantity: 2 }, key), { statusCode: 422, code: 'IDEMPOTENCY_KEY_REUSED' })
  await t.rejects(h.createOrder(alice, { productId: 'postcard', quantity: 1 }, key), { statusCode: 422, code: 'IDEMPOTENCY_KEY_REUSED' })
  const bobs = await h.createOrder(bob, { productId: 'latte', quantity: 1 }, key)
  t.equal(bobs.replayed, false, 'another user\'s identical key is another request')
  t.not(bobs.order.id, first.order.id)
  t.same((await h.createOrder(alice, { productId: 'latte', quantity: 1 }, key)).order, first.order, 'the mismatch changed nothing')
})

t.test('a failed prepay leaves the key retryable: the retry completes the same order with the same out_trade_no', async (t) => {
  const h = await buildPayment(t)
  const userId = await h.newUser()
  const key = randomUUID()
  // The client library retries a 500 twice; three in a row make the call fail.
  await h.sim_('/sim/faults', { endpoint: 'jsapi', code: 'SYSTEM_ERROR', times: 3 })
  await t.rejects(h.createOrder(userId, { productId: 'tote-bag' }, key), { statusCode: 503, code: 'WECHATPAY_UNAVAILABLE' })
  const { rows: before } = await h.payment.app.pg.query('SELECT id, out_trade_no, status FROM orders')
  t.equal(before.length, 1, 'the order exists, PENDING, without a prepay')
  t.equal(before[0].status, 'PENDING')

  const retried = await h.createOrder(userId, { productId: 'tote-bag' }, key)
  t.equal(retried.replayed, false)
  t.equal(retried.order.id, before[0].id, 'the same order')
  t.equal(retried.order.outTradeNo, before[0].out_trade_no, 'the same out_trade_no')
  t.match(retried.order.payParams!.package, /^prepay_id=/)
  const { rows: after } = await h.payment.app.pg.query('SELECT count(*)::int AS n FROM orders')
  t.equal(after[0].n, 1, 'still one order')
  const stats = await h.sim_('/sim/stats')
  t.equal(stats.prepay[before[0].out_trade_no], 4, 'three refused attempts and one that succeeded, all for the one order')
  t.same(await h.createOrder(userId, { productId: 'tote-bag' }, key), { replayed: true, order: retried.order })

  // A timeout is as uncertain as it gets (WeChat Pay may have made the prepay): the retry still ends in one order.
  const key2 = randomUUID()
  await h.sim_('/sim/faults', { endpoint: 'jsapi', hangup: true, times: 3 })
  await t.rejects(h.createOrder(userId, { productId: 'latte' }, key2), { statusCode: 503, code: 'WECHATPAY_UNAVAILABLE' })
  const third = await h.createOrder(userId, { productId: 'latte' }, key2)
  t.equal((await h.payment.app.pg.query('SELECT count(*)::int AS n FROM orders WHERE out_trade_no = $1', [third.order.outTradeNo])).rows[0].n, 1)
})

t.test('a payer without a WeChat identity cannot order, and nothing is left behind', async (t) => {
  const h = await buildPayment(t)
  const { id } = await h.user.callers.request<{ id: string }>(Subjects.user.create, {}, undefined).then((r) => r.data)
  await t.rejects(h.createOrder(id), { statusCode: 422, code: 'PAYER_NOT_WECHAT_USER' })
  await t.rejects(h.createOrder(randomUUID()), { statusCode: 422, code: 'PAYER_NOT_WECHAT_USER' }, 'nor can an unknown user id')
  const { rows } = await h.payment.app.pg.query('SELECT (SELECT count(*) FROM orders)::int AS orders, (SELECT count(*) FROM idempotency_keys)::int AS keys')
  t.same(rows[0], { orders: 0, keys: 0 })
})

t.test('a caller sees only their own orders, newest first, page by page; anyone else\'s id is a 404', async (t) => {
  const h = await buildPayment(t)
  const alice = await h.newUser()
  const bob = await h.newUser()
  const made: string[] = []
  for (let i = 0; i < 5; i++) made.push((await h.createOrder(alice, { productId: 'postcard', quantity: i + 1 })).order.id)
  const bobs = (await h.createOrder(bob)).order

  const seen: string[] = []
  let cursor: string | null = null
  do {
    const page: OrderPage = await h.call<OrderPage>(Subjects.payment.listOrders, cursor === null ? { limit: 2 } : { limit: 2, cursor }, alice)
    t.ok(page.orders.length <= 2)
    seen.push(...page.orders.map((o) => o.id))
    cursor = page.nextCursor
  } while (cursor !== null)
  t.same(seen, [...made].reverse(), 'every order once, newest first, none of bob\'s')

  const one = await h.call<Record<string, unknown>>(Subjects.payment.getOrder, { id: made[0] }, alice)
  t.equal(one.amount, 100)
  t.notOk('payParams' in one || 'payerOpenid' in one || 'payer_openid' in one, 'no pay secrets or openid in a read')
  await t.rejects(h.call(Subjects.payment.getOrder, { id: bobs.id }, alice), { statusCode: 404, code: 'ORDER_NOT_FOUND' })
  await t.rejects(h.call(Subjects.payment.getOrder, { id: randomUUID() }, alice), { statusCode: 404, code: 'ORDER_NOT_FOUND' })
  await t.rejects(h.call(Subjects.payment.getOrder, { id: 'not-a-uuid' }, alice), { statusCode: 400, code: 'VALIDATION_FAILED' })
  await t.rejects(h.call(Subjects.payment.listOrders, { cursor: 'Zm9vOmJhcg' }, alice), { statusCode: 400, code: 'CURSOR_INVALID' })
  await t.rejects(h.call(Subjects.payment.listOrders, { limit: 1000 }, alice), { statusCode: 400, code: 'VALIDATION_FAILED' })
  t.same((await h.call<OrderPage>(Subjects.payment.listOrders, {}, bob)).orders.map((o) => o.id), [bobs.id])
})
