import t from 'tap'
import { createHmac } from 'node:crypto'
import { startSimulator } from '../src/testing.js'
import { call, post } from './helpers/http.js'

const hmac = (key: string, text: string): string => createHmac('sha256', key).update(text).digest('hex')

// The merchant's side of WeChat's virtual payment written here from the documentation, so the simulator is checked
// against the algorithm rather than against itself.
async function signedIn (t: Parameters<typeof startSimulator>[0]) {
  const sim = await startSimulator(t)
  const { json: login } = await post(`${sim.url}/sim/wx-login`, {})
  const { json: session } = await call(`${sim.url}/sns/jscode2session?${new URLSearchParams({ appid: sim.keys.appid, secret: sim.keys.secret, js_code: login.code, grant_type: 'authorization_code' }).toString()}`)
  const { json: token } = await post(`${sim.url}/cgi-bin/stable_token`, { grant_type: 'client_credential', appid: sim.keys.appid, secret: sim.keys.secret })
  const signData = (outTradeNo: string, price = 600): string => JSON.stringify({ offerId: sim.keys.xpayOfferId, buyQuantity: 1, env: 0, currencyType: 'CNY', productId: 'coins-60', goodsPrice: price, outTradeNo, attach: 'a' })
  const params = (data: string, sessionKey: string = session.session_key) => ({ openid: login.openid, mode: 'short_series_goods', signData: data, paySig: hmac(sim.keys.xpayAppKey, `requestVirtualPayment&${data}`), signature: hmac(sessionKey, data) })
  const api = async (name: string, body: unknown, appKey = sim.keys.xpayAppKey) => {
    const text = JSON.stringify(body)
    return (await call(`${sim.url}/xpay/${name}?access_token=${token.access_token as string}&pay_sig=${hmac(appKey, `/xpay/${name}&${text}`)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text })).json
  }
  return { sim, openid: login.openid as string, sessionKey: session.session_key as string, signData, params, api }
}

t.test('wx.requestVirtualPayment: a wrong paySig, an old session_key and a reused out_trade_no are refused; a good one pays', async (t) => {
  const { sim, openid, signData, params } = await signedIn(t)
  const data = signData('T0001')
  t.match((await post(`${sim.url}/sim/virtual-pay`, { ...params(data), paySig: hmac('not-the-app-key', `requestVirtualPayment&${data}`) })).json, { errCode: -15005 })
  t.match((await post(`${sim.url}/sim/virtual-pay`, params(data, 'AAAAAAAAAAAAAAAAAAAAAA=='))).json, { errCode: -15007 })
  const paid = await post(`${sim.url}/sim/virtual-pay`, params(data))
  t.equal(paid.status, 200)
  t.equal(paid.json.errMsg, 'requestVirtualPayment:ok')
  t.match((await post(`${sim.url}/sim/virtual-pay`, params(data))).json, { errCode: -15003 }, 'one payment per out_trade_no')

  // WeChat renews the session_key: signatures with the old one stop working, as checksession says too.
  const old = params(signData('T0002'))
  t.equal((await post(`${sim.url}/sim/session-key/renew`, { openid })).status, 200)
  t.match((await post(`${sim.url}/sim/virtual-pay`, old)).json, { errCode: -15007 })
})

t.test('query_order, refund_order and notify_provide_goods check pay_sig and answer as WeChat does', async (t) => {
  const { sim, openid, signData, params, api } = await signedIn(t)
  t.equal((await post(`${sim.url}/sim/virtual-pay`, params(signData('T0003')))).status, 200)
  t.match(await api('query_order', { openid, env: 0, order_id: 'T0003' }, 'another-app-key'), { errcode: 268490003 }, 'a pay_sig made with another AppKey')
  t.match(await api('query_order', { openid, env: 0, order_id: 'T0003' }), { errcode: 0, order: { order_id: 'T0003', status: 2, order_fee: 600, paid_fee: 600 } }, 'paid, waiting for delivery (no push URL here)')
  t.match(await api('query_order', { openid, env: 0, order_id: 'nope' }), { errcode: 268490002 })
  t.match(await api('notify_provide_goods', { order_id: 'T0003', env: 0 }), { errcode: 0 })
  t.match(await api('query_order', { openid, env: 0, order_id: 'T0003' }), { order: { status: 4 } }, 'delivered')
  t.match(await api('notify_provide_goods', { order_id: 'T0003', env: 0 }), { errcode: 268490004 }, 'a second report is a repeat')

  const refund = { openid, order_id: 'T0003', refund_order_id: 'R0003', left_fee: 600, refund_fee: 200, refund_reason: '3', req_from: '2', env: 0 }
  t.match(await api('refund_order', { ...refund, left_fee: 500 }), { errcode: 268490016 }, 'left_fee must be what is left')
  t.match(await api('refund_order', refund), { errcode: 0, refund_order_id: 'R0003', pay_order_id: 'T0003' })
  t.match(await api('refund_order', refund), { errcode: 268490004 }, 'the same refund_order_id is one refund')
  // The refund settles after SIM_REFUND_SETTLE_MS and WeChat pushes xpay_refund_notify (dropped here: no push URL).
  let pushes: Array<{ message: Record<string, unknown> }> = []
  for (let i = 0; i < 100 && pushes.length === 0; i++) {
    pushes = (await call(`${sim.url}/sim/pushes?event=xpay_refund_notify`)).json.pushes
    if (pushes.length === 0) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.match(pushes[0]?.message, { Event: 'xpay_refund_notify', MchRefundId: 'R0003', MchOrderId: 'T0003', RefundFee: 200, RetCode: 0 })
  t.match(await api('query_order', { openid, env: 0, order_id: 'T0003' }), { order: { refund_fee: 200, left_fee: 400 } })
})
