import t from 'tap'
import { startSimulator } from '../src/testing.js'
import { call, payCall, post } from './helpers/http.js'
import { AES_KEY, OPENID, PUSH_TOKEN, accessToken, expressUpload, openSafePush, paidOrder, pushReceiver, sha1Sorted, shippingApi, until, virtualUpload } from './helpers/shipping.js'

t.test('a physical payment: frozen until shipped and confirmed, one modification, then settled', async (t) => {
  const sim = await startSimulator(t, { SIM_SETTLEMENT_DELAY_MS: '-1' })
  const token = await accessToken(sim)
  const tx = await paidOrder(sim, 'SHIP000001')

  const before = await shippingApi(sim, token, 'get_order', { transaction_id: tx })
  t.match(before.json, { errcode: 0, order: { transaction_id: tx, merchant_id: sim.keys.mchid, merchant_trade_no: 'SHIP000001', paid_amount: 100, openid: OPENID, order_state: 1, in_complaint: false } })
  t.notOk(before.json.order.shipping, 'nothing shipped yet')
  t.equal((await call(`${sim.url}/sim/shipping?transactionId=${tx}`)).json.funds, 'frozen')

  t.same((await shippingApi(sim, token, 'upload_shipping_info', expressUpload(tx))).json, { errcode: 0, errmsg: 'ok' })
  const shipped = await shippingApi(sim, token, 'get_order', { merchant_id: sim.keys.mchid, merchant_trade_no: 'SHIP000001' })
  t.match(shipped.json.order, { order_state: 2, shipping: { delivery_mode: 1, logistics_type: 1, finish_shipping: true, finish_shipping_count: 1, shipping_list: [{ tracking_no: 'SF1234567890', express_company: 'SF', goods_desc: '测试商品*1' }] } })

  t.equal((await shippingApi(sim, token, 'upload_shipping_info', expressUpload(tx, 'SF0000000002'))).json.errcode, 0, 'the one modification')
  const third = await shippingApi(sim, token, 'upload_shipping_info', expressUpload(tx, 'SF0000000003'))
  t.equal(third.json.errcode, 10060003, 'a third upload fails as WeChat\'s does')
  t.match(third.json.errmsg, /^支付单已使用重新发货机会 rid: /)
  const after = (await shippingApi(sim, token, 'get_order', { transaction_id: tx })).json.order
  t.equal(after.shipping.shipping_list[0].tracking_no, 'SF0000000002', 'the modification replaced the tracking number')
  t.equal(after.shipping.finish_shipping_count, 2)
  t.equal((await call(`${sim.url}/sim/stats`)).json.shippingUploads[tx], 2, 'two uploads were carried out')
  t.equal((await call(`${sim.url}/sim/shipping?transactionId=${tx}`)).json.funds, 'frozen', 'shipping alone releases nothing')

  const confirmed = await post(`${sim.url}/sim/confirm-receipt`, { outTradeNo: 'SHIP000001' })
  t.match(confirmed.json, { orderState: 3, funds: 'frozen', confirmMethod: 1 })
  t.equal((await shippingApi(sim, token, 'upload_shipping_info', expressUpload(tx, 'SF0000000004'))).json.errcode, 10060004, 'a received payment cannot be shipped')
  t.equal((await post(`${sim.url}/sim/confirm-receipt`, { transactionId: tx })).status, 409, 'confirmed once')
  t.match((await post(`${sim.url}/sim/settle`, { transactionId: tx })).json, { orderState: 4, funds: 'settled' })
  t.equal((await shippingApi(sim, token, 'get_order', { transaction_id: tx })).json.order.order_state, 4)
})

t.test('WeChat\'s validation errcodes', async (t) => {
  const sim = await startSimulator(t)
  const token = await accessToken(sim)
  const tx = await paidOrder(sim, 'SHIP000002')
  const upload = async (change: Record<string, unknown>): Promise<number> => (await shippingApi(sim, token, 'upload_shipping_info', { ...expressUpload(tx), ...change })).json.errcode
  t.equal(await upload({ order_key: { order_number_type: 2, transaction_id: '4200000000000000000000000000' } }), 10060001, 'unknown payment')
  t.equal(await upload({ payer: { openid: 'oSomeoneElse000000000000000' } }), 10060001, 'another payer')
  t.equal(await upload({ logistics_type: 5 }), 10060005)
  t.equal(await upload({ delivery_mode: 3 }), 268485224)
  t.equal(await upload({ shipping_list: [] }), 268485228, 'unified mode takes exactly one item')
  t.equal(await upload({ delivery_mode: 2, logistics_type: 3, is_all_delivered: true }), 10060006, 'only express can be split')
  t.equal(await upload({ delivery_mode: 2 }), 10060007, 'split mode needs is_all_delivered')
  t.equal(await upload({ shipping_list: [{ tracking_no: 'SF1', express_company: 'SF', item_desc: '' }] }), 10060008)
  t.equal(await upload({ shipping_list: [{ tracking_no: 'SF1', express_company: 'SF', item_desc: 'x'.repeat(121) }] }), 10060009)
  t.equal(await upload({ shipping_list: [{ express_company: 'SF', item_desc: 'x' }] }), 268485226, 'express needs a tracking number')
  t.equal(await upload({ upload_time: '2026-01-02 03:04:05' }), 268485216, 'upload_time must be RFC 3339')
  t.equal(await upload({ shipping_list: { tracking_no: 'SF1', express_company: 'SF', item_desc: 'x' } }), 47001, 'shipping_list must be an array')
  t.equal((await shippingApi(sim, token, 'upload_shipping_info', 'not json')).json.errcode, 47001)
  t.equal((await shippingApi(sim, 'bogus', 'upload_shipping_info', expressUpload(tx))).json.errcode, 40001, 'a bad access_token')
  const unpaid = await shippingApi(sim, token, 'get_order', { merchant_id: sim.keys.mchid, merchant_trade_no: 'NEVERPAID01' })
  t.equal(unpaid.json.errcode, 10060001)
  t.equal((await call(`${sim.url}/sim/stats`)).json.shippingUploads[tx], undefined, 'no refused upload counts')

  await payRefund(sim, 'SHIP000002')
  t.equal((await shippingApi(sim, token, 'get_order', { transaction_id: tx })).json.order.order_state, 5, 'a fully refunded payment is 已退款')
  t.equal(await upload({}), 10060004)
})

async function payRefund (sim: Awaited<ReturnType<typeof startSimulator>>, outTradeNo: string): Promise<void> {
  await payCall(sim, 'POST', '/v3/refund/domestic/refunds', { out_trade_no: outTradeNo, out_refund_no: `R${outTradeNo}`, amount: { refund: 100, total: 100, currency: 'CNY' } })
}

t.test('a virtual payment is confirmed and settled by the platform, each step pushed signed and encrypted', async (t) => {
  const sim = await startSimulator(t, { SIM_VIRTUAL_AUTO_CONFIRM_MS: '10', SIM_SETTLEMENT_DELAY_MS: '10' })
  const merchant = await pushReceiver(t)
  t.equal((await call(`${sim.url}/sim/push-config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: merchant.url, token: PUSH_TOKEN, encodingAesKey: AES_KEY, mode: 'safe', format: 'json' }) })).status, 200)
  const token = await accessToken(sim)
  const tx = await paidOrder(sim, 'SHIP000003')
  t.equal((await shippingApi(sim, token, 'upload_shipping_info', virtualUpload(sim, 'SHIP000003'))).json.errcode, 0)

  await until(async () => (await call(`${sim.url}/sim/shipping?transactionId=${tx}`)).json.funds === 'settled')
  await until(() => merchant.received.length === 2)
  const [confirm, settle] = merchant.received.map((p) => openSafePush(p, sim.keys.appid))
  t.notMatch(merchant.received[0]!.body, /SHIP000003/, 'safe mode carries no plaintext')
  t.equal(merchant.received[0]!.query.get('encrypt_type'), 'aes')
  t.match(confirm, { MsgType: 'event', Event: 'trade_manage_order_settlement', FromUserName: OPENID, transaction_id: tx, merchant_id: sim.keys.mchid, merchant_trade_no: 'SHIP000003', confirm_receive_method: 2 })
  t.type(confirm!.confirm_receive_time, 'number')
  t.type(confirm!.estimated_settlement_time, 'number')
  t.notOk('settlement_time' in confirm!, 'confirmation comes before settlement')
  t.match(settle, { Event: 'trade_manage_order_settlement', transaction_id: tx, confirm_receive_method: 2 })
  t.type(settle!.settlement_time, 'number')
  t.equal((await call(`${sim.url}/sim/stats`)).json.shippingUploads[tx], 1)
})

t.test('pushes are retried until the merchant answers success, and can be replayed', async (t) => {
  const sim = await startSimulator(t, { SIM_NOTIFY_SCHEDULE_SCALE: '0.001', SIM_PUSH_SCHEDULE: '1s,1s,1s' })
  const merchant = await pushReceiver(t, [{ status: 500, body: '' }, { status: 200, body: 'fail' }])
  await call(`${sim.url}/sim/push-config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: merchant.url, token: PUSH_TOKEN, mode: 'plain', format: 'xml' }) })
  const tx = await paidOrder(sim, 'SHIP000004')
  t.equal((await post(`${sim.url}/sim/remind-shipping`, { transactionId: tx })).status, 200)
  await until(async () => (await call(`${sim.url}/sim/pushes?subject=${tx}`)).json.pushes[0]?.state === 'delivered')
  const push = (await call(`${sim.url}/sim/pushes?subject=${tx}`)).json.pushes[0]
  t.equal(push.attempts.length, 3, 'a 500 and a body other than success are both retried')
  t.equal(push.event, 'trade_manage_remind_shipping')
  const last = merchant.received.at(-1)!
  t.equal(last.contentType, 'text/xml')
  t.equal(last.query.get('signature'), sha1Sorted(PUSH_TOKEN, last.query.get('timestamp')!, last.query.get('nonce')!))
  t.match(last.body, /^<xml><ToUserName><!\[CDATA\[gh_[0-9a-f]{12}\]\]><\/ToUserName>.*<Event><!\[CDATA\[trade_manage_remind_shipping\]\]><\/Event>/)
  t.match(last.body, new RegExp(`<transaction_id><!\\[CDATA\\[${tx}\\]\\]></transaction_id>`))

  await post(`${sim.url}/sim/pushes/redeliver`, { subject: tx })
  await until(() => merchant.received.length === 4)
  const replay = merchant.received[3]!
  t.equal(replay.body, last.body, 'a replay carries the same message')
  t.equal(replay.query.get('signature'), sha1Sorted(PUSH_TOKEN, replay.query.get('timestamp')!, replay.query.get('nonce')!), 'signed for its own timestamp and nonce')
})

t.test('upload faults: an error or 5xx changes nothing; a lost answer was carried out', async (t) => {
  const sim = await startSimulator(t)
  const token = await accessToken(sim)
  const tx = await paidOrder(sim, 'SHIP000005')
  await post(`${sim.url}/sim/faults`, [{ endpoint: 'upload_shipping_info', errcode: -1, times: 1 }, { endpoint: 'upload_shipping_info', status: 502, times: 1 }])
  t.equal((await shippingApi(sim, token, 'upload_shipping_info', expressUpload(tx))).json.errcode, -1)
  t.equal((await shippingApi(sim, token, 'upload_shipping_info', expressUpload(tx))).status, 502)
  t.equal((await shippingApi(sim, token, 'get_order', { transaction_id: tx })).json.order.order_state, 1, 'neither was recorded')

  await post(`${sim.url}/sim/faults`, { endpoint: 'upload_shipping_info', lostAnswer: true, times: 1 })
  await t.rejects(shippingApi(sim, token, 'upload_shipping_info', expressUpload(tx)), 'the connection closes without an answer')
  t.equal((await shippingApi(sim, token, 'get_order', { transaction_id: tx })).json.order.order_state, 2, 'but the platform recorded it')
  const stats = (await call(`${sim.url}/sim/stats`)).json
  t.equal(stats.shippingUploads[tx], 1)
  t.equal(stats.calls.upload_shipping_info, 3)
})

t.test('is_trade_managed, set_msg_jump_path and notify_confirm_receive', async (t) => {
  const sim = await startSimulator(t)
  const token = await accessToken(sim)
  t.same((await shippingApi(sim, token, 'is_trade_managed', { appid: sim.keys.appid })).json, { errcode: 0, errmsg: 'ok', is_trade_managed: true })
  t.equal((await shippingApi(sim, token, 'is_trade_managed', { appid: 'wx0000000000000000' })).json.errcode, 40013)
  t.equal((await shippingApi(sim, token, 'set_msg_jump_path', { path: 'pages/orders/detail' })).json.errcode, 0)
  t.equal((await call(`${sim.url}/sim/shipping`)).json.msgJumpPath, 'pages/orders/detail')
  t.equal((await shippingApi(sim, token, 'set_msg_jump_path', { path: 'pages/orders/detail?id=1' })).json.errcode, 40097, 'WeChat adds the query itself')
  t.equal((await call(`${sim.url}/sim/shipping`)).json.msgJumpPath, 'pages/orders/detail', 'a refused path changes nothing')

  const tx = await paidOrder(sim, 'SHIP000006')
  const remind = async (): Promise<number> => (await shippingApi(sim, token, 'notify_confirm_receive', { transaction_id: tx, received_time: Math.floor(Date.now() / 1000) + 5 })).json.errcode
  t.equal(await remind(), 10060004, 'not shipped yet')
  await shippingApi(sim, token, 'upload_shipping_info', expressUpload(tx))
  const at = async (receivedTime: number): Promise<number> => (await shippingApi(sim, token, 'notify_confirm_receive', { transaction_id: tx, received_time: receivedTime })).json.errcode
  t.equal(await at(Date.now()), 10060029, 'a time in milliseconds is refused as WeChat does')
  t.equal(await at(Math.floor(Date.now() / 1000) - 3600), 10060029, 'signed for before it shipped')
  t.equal(await remind(), 0, 'refusals did not spend the one reminder')
  t.equal(await remind(), 40097, 'once per payment')
  const virtual = await paidOrder(sim, 'SHIP000007')
  await shippingApi(sim, token, 'upload_shipping_info', virtualUpload(sim, 'SHIP000007'))
  t.equal((await shippingApi(sim, token, 'notify_confirm_receive', { transaction_id: virtual, received_time: Math.floor(Date.now() / 1000) })).json.errcode, 10060005, 'express only')
})

t.test('settings: safe mode needs its key at boot; an app outside shipping management freezes nothing', async (t) => {
  await t.rejects(startSimulator(t, { SIM_PUSH_MODE: 'safe' }), /SIM_PUSH_ENCODING_AES_KEY/)
  const sim = await startSimulator(t, { SIM_TRADE_MANAGED: 'false' })
  const token = await accessToken(sim)
  t.equal((await shippingApi(sim, token, 'is_trade_managed', { appid: sim.keys.appid })).json.is_trade_managed, false)
  const tx = await paidOrder(sim, 'SHIP000008')
  t.equal((await call(`${sim.url}/sim/shipping?transactionId=${tx}`)).json.funds, 'settled')
})

t.test('split delivery: parcels add up until is_all_delivered, which is the first upload', async (t) => {
  const sim = await startSimulator(t)
  const token = await accessToken(sim)
  const tx = await paidOrder(sim, 'SHIP000009')
  const parcel = (n: number, all: boolean): Record<string, unknown> => ({ ...expressUpload(tx, `YT00000000${n}`), delivery_mode: 2, is_all_delivered: all })
  t.equal((await shippingApi(sim, token, 'upload_shipping_info', parcel(1, false))).json.errcode, 0)
  t.equal((await shippingApi(sim, token, 'get_order', { transaction_id: tx })).json.order.order_state, 1, 'not all shipped yet')
  t.equal((await shippingApi(sim, token, 'upload_shipping_info', parcel(2, true))).json.errcode, 0)
  const order = (await shippingApi(sim, token, 'get_order', { transaction_id: tx })).json.order
  t.match(order, { order_state: 2, shipping: { delivery_mode: 2, finish_shipping: true, finish_shipping_count: 1 } })
  t.same(order.shipping.shipping_list.map((p: { tracking_no: string }) => p.tracking_no), ['YT000000001', 'YT000000002'])
  t.equal((await shippingApi(sim, token, 'upload_shipping_info', expressUpload(tx))).json.errcode, 0, 'changing the mode is the one modification')
  t.equal((await shippingApi(sim, token, 'upload_shipping_info', expressUpload(tx))).json.errcode, 10060003)
})
