import t from 'tap'
import { randomUUID } from 'node:crypto'
import { eventually } from '../helpers/client.js'
import { buildPayStack, type PayStack } from './pay-stack.js'

async function placeOrder (s: PayStack, token: string): Promise<any> {
  const res = await s.api(token, 'POST', '/v1/payments/orders', { productId: 'latte', quantity: 1 }, { 'idempotency-key': randomUUID() })
  if (res.status !== 201) throw new Error(`order failed: ${res.status} ${res.body}`)
  return res.json()
}

/** wx.requestPayment as the simulator plays it: paySign verified against the merchant's key before the sheet opens. */
async function sheet (s: PayStack, p: Record<string, string>): Promise<any> {
  return await s.phone('/sim/request-payment', { timeStamp: p.timeStamp, nonceStr: p.nonceStr, package: p.package, signType: p.signType, paySign: p.paySign })
}

/**
 * Waits until three seconds after payParams' timeStamp, which is rounded down to the second: at least two seconds
 * after they were signed, so the prepay behind them (issued before, stored just after) is more than a second old.
 */
async function pastLifetime (p: { timeStamp: string }): Promise<void> {
  const wait = Number(p.timeStamp) * 1000 + 3000 - Date.now()
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
}

t.test('a young prepay is signed again: same prepay_id, new timeStamp/nonceStr/paySign, no new prepay; the sheet opens and pays', async (t) => {
  const s = await buildPayStack(t)
  const token = await s.login()
  const order = await placeOrder(s, token)

  // Exactly what wx.request sends for a POST without data: content-type application/json and an empty body.
  const fresh = await s.api(token, 'POST', `/v1/payments/orders/${order.id}/pay-params`, undefined, { 'content-type': 'application/json' })
  t.equal(fresh.status, 200, fresh.body)
  const again = fresh.json()
  t.match(again, { id: order.id, outTradeNo: order.outTradeNo, status: 'PENDING', amount: 1800 })
  t.equal(again.payParams.package, order.payParams.package, 'the stored prepay_id')
  t.not(again.payParams.nonceStr, order.payParams.nonceStr, 'a new nonceStr')
  t.not(again.payParams.paySign, order.payParams.paySign, 'signed again')
  t.equal((await s.phone('/sim/stats')).prepay[order.outTradeNo], 1, 'WeChat Pay was not asked for another prepay')

  const opened = await sheet(s, again.payParams)
  t.equal(opened.errMsg, 'requestPayment:ok', 'the simulator verified the new paySign')
  const paid = await eventually(async () => (await s.api(token, 'GET', `/v1/payments/orders/${order.id}`)).json(), (o) => o.status === 'PAID')
  t.equal(paid.status, 'PAID')

  const late = await s.api(token, 'POST', `/v1/payments/orders/${order.id}/pay-params`)
  t.equal(late.status, 409, 'a paid order has nothing left to pay')
  t.equal(late.json().error.code, 'ORDER_NOT_PAYABLE')
  t.match(late.json().error.message, /PAID/)
})

t.test('a prepay past its lifetime is placed again at WeChat Pay under the same out_trade_no, and the new payParams pay the order', async (t) => {
  // WeChat's two hours scaled down to one second, at WeChat Pay (the simulator) and in the payment service alike.
  const s = await buildPayStack(t, { payment: { PREPAY_RENEW_AFTER_SECONDS: '1' }, sim: { SIM_PREPAY_TTL_SECONDS: '1' } })
  const token = await s.login()
  const order = await placeOrder(s, token)
  await pastLifetime(order.payParams)
  t.equal((await sheet(s, order.payParams)).errMsg, 'requestPayment:fail prepay_id is invalid', 'the checkout\'s payParams no longer open the sheet')

  const res = await s.api(token, 'POST', `/v1/payments/orders/${order.id}/pay-params`)
  t.equal(res.status, 200, res.body)
  const fresh = res.json()
  t.equal(fresh.outTradeNo, order.outTradeNo)
  t.match(fresh.payParams, { appId: s.sim.keys.appid, signType: 'RSA', package: /^prepay_id=/ })
  t.not(fresh.payParams.package, order.payParams.package, 'a new prepay_id')
  t.equal((await s.phone('/sim/stats')).prepay[order.outTradeNo], 2, 'a second prepay with identical parameters')

  const forged = await sheet(s, { ...fresh.payParams, paySign: order.payParams.paySign })
  t.equal(forged.errMsg, 'requestPayment:fail 支付验证签名失败', 'a paySign that does not match the parameters is refused')
  t.equal((await sheet(s, fresh.payParams)).errMsg, 'requestPayment:ok')
  const paid = await eventually(async () => (await s.api(token, 'GET', `/v1/payments/orders/${order.id}`)).json(), (o) => o.status === 'PAID')
  t.equal(paid.status, 'PAID')
})

t.test('only the caller\'s own order; a closed one answers 409 and WeChat Pay is not asked', async (t) => {
  const s = await buildPayStack(t)
  const alice = await s.login()
  const bob = await s.login()
  const order = await placeOrder(s, alice)
  const other = await s.api(bob, 'POST', `/v1/payments/orders/${order.id}/pay-params`)
  t.equal(other.status, 404)
  t.equal(other.json().error.code, 'ORDER_NOT_FOUND')
  t.equal((await s.api(alice, 'POST', '/v1/payments/orders/not-a-uuid/pay-params')).status, 400)
  t.equal((await s.api('', 'POST', `/v1/payments/orders/${order.id}/pay-params`)).status, 401)

  // The state the reconciler leaves an order in once its time_expire has passed unpaid.
  await s.payment.app.pg.pool.query("UPDATE orders SET status = 'CLOSED', closed_at = now() WHERE id = $1", [order.id])
  const closed = await s.api(alice, 'POST', `/v1/payments/orders/${order.id}/pay-params`)
  t.equal(closed.status, 409)
  t.equal(closed.json().error.code, 'ORDER_NOT_PAYABLE')
  t.match(closed.json().error.message, /CLOSED/)
  t.equal((await s.phone('/sim/stats')).prepay[order.outTradeNo], 1)
})
