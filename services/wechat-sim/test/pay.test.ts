import t from 'tap'
import { createDecipheriv } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { eventually, rsaKeyPairSync, waitFor, type Teardown } from '@wxmp/testing'
import { startSimulator } from '../src/testing.js'
import { call, payCall, post, prepayBody, signedBySim } from './helpers/http.js'

const NOTIFY = 'https://merchant.example/notify'

t.test('an unsigned or wrongly signed request is refused with 401 SIGN_ERROR, unsigned', async (t) => {
  const sim = await startSimulator(t)
  const unsigned = await call(`${sim.url}/v3/pay/transactions/jsapi`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(prepayBody(sim, 'ORDER000001', NOTIFY)) })
  t.equal(unsigned.status, 401)
  t.equal(unsigned.json.code, 'SIGN_ERROR')
  t.equal(unsigned.headers.get('wechatpay-signature'), null, 'an unauthenticated request gets no signed answer')

  const stranger = rsaKeyPairSync().privateKey
  const forged = await payCall(sim, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sim, 'ORDER000001', NOTIFY), { key: stranger })
  t.equal(forged.status, 401)
  t.equal(forged.json.code, 'SIGN_ERROR')
  t.equal(forged.json.detail.detail.issue, 'sign not match')
  t.equal(forged.json.detail.sign_information.method, 'POST')
  t.equal(forged.json.detail.sign_information.url, '/v3/pay/transactions/jsapi')
  t.match(forged.json.detail.sign_information.truncated_sign_message, /^POST\n\/v3\/pay\/transactions\/jsapi\n\d+\n[0-9a-f]{32}\n\{"appid"\n$/)

  const stale = await payCall(sim, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sim, 'ORDER000001', NOTIFY), { timestamp: Math.floor(Date.now() / 1000) - 600 })
  t.equal(stale.status, 401, 'a request older than 5 minutes is refused')
  const serial = await payCall(sim, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sim, 'ORDER000001', NOTIFY), { serial: 'ABCDEF0123456789' })
  t.equal(serial.status, 401, 'the wrong certificate serial is refused')
  const stats = await call(`${sim.url}/sim/stats`)
  t.equal(stats.json.prepay.ORDER000001, 4, 'every attempt is counted')
  t.ok(stats.json.payCalls.every((c: { status: number }) => c.status === 401), 'and refused')
  const query = await payCall(sim, 'GET', `/v3/pay/transactions/out-trade-no/ORDER000001?mchid=${sim.keys.mchid}`)
  t.equal(query.json.code, 'ORDER_NOT_EXIST', 'nothing was ordered')
})

t.test('prepay, query, pay, refund: every answer is signed by the WeChat Pay key over its exact body', async (t) => {
  const sim = await startSimulator(t, { SIM_REFUND_SETTLE_MS: '-1' })
  const prepay = await payCall(sim, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sim, 'ORDER000002', NOTIFY))
  t.equal(prepay.status, 200)
  t.match(prepay.json.prepay_id, /^wx\d{14}[0-9a-f]{20}$/)
  t.ok(signedBySim(sim, prepay.headers, prepay.text))
  t.ok(prepay.headers.get('request-id'))
  const again = await payCall(sim, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sim, 'ORDER000002', NOTIFY))
  t.equal(again.json.prepay_id, prepay.json.prepay_id, 'the same order placed again has the same prepay_id')
  const changed = await payCall(sim, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sim, 'ORDER000002', NOTIFY, 999))
  t.equal(changed.status, 403)
  t.equal(changed.json.code, 'OUT_TRADE_NO_USED')
  t.ok(signedBySim(sim, changed.headers, changed.text), 'business errors are signed too')

  const notpaid = await payCall(sim, 'GET', `/v3/pay/transactions/out-trade-no/ORDER000002?mchid=${sim.keys.mchid}`)
  t.equal(notpaid.json.trade_state, 'NOTPAY')
  t.ok(signedBySim(sim, notpaid.headers, notpaid.text))
  const missing = await payCall(sim, 'GET', `/v3/pay/transactions/out-trade-no/NOPE00000?mchid=${sim.keys.mchid}`)
  t.equal(missing.status, 404)
  t.equal(missing.json.code, 'ORDER_NOT_EXIST')

  const paid = await post(`${sim.url}/sim/pay`, { outTradeNo: 'ORDER000002', result: 'SUCCESS' })
  t.equal(paid.json.tradeState, 'SUCCESS')
  const q = await payCall(sim, 'GET', `/v3/pay/transactions/out-trade-no/ORDER000002?mchid=${sim.keys.mchid}`)
  t.equal(q.json.trade_state, 'SUCCESS')
  t.equal(q.json.amount.total, 100)
  t.equal(q.json.payer.openid, 'oUser000000000000000000000001')
  t.equal(q.json.transaction_id, paid.json.transactionId)
  t.match(q.json.success_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/)
  const repay = await payCall(sim, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sim, 'ORDER000002', NOTIFY))
  t.equal(repay.json.code, 'ORDERPAID')
  const close = await payCall(sim, 'POST', '/v3/pay/transactions/out-trade-no/ORDER000002/close', { mchid: sim.keys.mchid })
  t.equal(close.json.code, 'ORDERPAID', 'a paid order cannot be closed')

  const refund = await payCall(sim, 'POST', '/v3/refund/domestic/refunds', { out_trade_no: 'ORDER000002', out_refund_no: 'REFUND0001', amount: { refund: 60, total: 100, currency: 'CNY' } })
  t.equal(refund.status, 200)
  t.equal(refund.json.status, 'PROCESSING')
  t.equal(refund.json.amount.refund, 60)
  const same = await payCall(sim, 'POST', '/v3/refund/domestic/refunds', { out_trade_no: 'ORDER000002', out_refund_no: 'REFUND0001', amount: { refund: 60, total: 100, currency: 'CNY' } })
  t.equal(same.json.refund_id, refund.json.refund_id, 'the same out_refund_no is the same refund')
  const tooMuch = await payCall(sim, 'POST', '/v3/refund/domestic/refunds', { out_trade_no: 'ORDER000002', out_refund_no: 'REFUND0002', amount: { refund: 41, total: 100, currency: 'CNY' } })
  t.equal(tooMuch.json.code, 'INVALID_REQUEST', 'no more than what is left can be refunded')
  const settled = await post(`${sim.url}/sim/refund`, { outRefundNo: 'REFUND0001', result: 'SUCCESS' })
  t.equal(settled.json.status, 'SUCCESS')
  const rq = await payCall(sim, 'GET', '/v3/refund/domestic/refunds/REFUND0001')
  t.equal(rq.json.status, 'SUCCESS')
  t.ok(signedBySim(sim, rq.headers, rq.text))
  const rmissing = await payCall(sim, 'GET', '/v3/refund/domestic/refunds/NOREFUND1')
  t.equal(rmissing.json.code, 'RESOURCE_NOT_EXISTS')
})

t.test('closing an unpaid order makes it unpayable and prepay answers ORDER_CLOSED', async (t) => {
  const sim = await startSimulator(t)
  await payCall(sim, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sim, 'ORDER000003', NOTIFY))
  const close = await payCall(sim, 'POST', '/v3/pay/transactions/out-trade-no/ORDER000003/close', { mchid: sim.keys.mchid })
  t.equal(close.status, 204)
  t.ok(signedBySim(sim, close.headers, ''), 'an empty 204 is signed over the empty body')
  t.equal((await payCall(sim, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sim, 'ORDER000003', NOTIFY))).json.code, 'ORDER_CLOSED')
  t.equal((await post(`${sim.url}/sim/pay`, { outTradeNo: 'ORDER000003', result: 'SUCCESS' })).status, 409)
})

t.test('injected Pay errors are answered as WeChat Pay would, and a bad-signature fault sends a probe signature', async (t) => {
  const sim = await startSimulator(t)
  await post(`${sim.url}/sim/faults`, [{ endpoint: 'jsapi', code: 'SYSTEM_ERROR', times: 1 }, { endpoint: 'query', badSignature: true, times: 1 }])
  const failed = await payCall(sim, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sim, 'ORDER000004', NOTIFY))
  t.equal(failed.status, 500)
  t.equal(failed.json.code, 'SYSTEM_ERROR')
  const ok = await payCall(sim, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sim, 'ORDER000004', NOTIFY))
  t.equal(ok.status, 200)
  const probe = await payCall(sim, 'GET', `/v3/pay/transactions/out-trade-no/ORDER000004?mchid=${sim.keys.mchid}`)
  t.equal(probe.status, 200)
  t.match(probe.headers.get('wechatpay-signature'), /^WECHATPAY\/SIGNTEST\//)
  t.notOk(signedBySim(sim, probe.headers, probe.text))
})

interface Received { headers: http.IncomingHttpHeaders, body: string }

async function merchant (t: Teardown, answers: number[]): Promise<{ url: string, received: Received[] }> {
  const received: Received[] = []
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c) => { body += c })
    req.on('end', () => {
      received.push({ headers: req.headers, body })
      res.statusCode = answers[received.length - 1] ?? 200
      res.end(res.statusCode === 200 ? '' : '{"code":"FAIL","message":"not now"}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`, received }
}

t.test('a payment notification is retried on the schedule until the merchant answers 200', async (t) => {
  const sim = await startSimulator(t, { SIM_NOTIFY_SCHEDULE_SCALE: '0.001' })
  const m = await merchant(t, [500, 503, 200])
  await payCall(sim, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sim, 'ORDER000005', m.url))
  await post(`${sim.url}/sim/pay`, { outTradeNo: 'ORDER000005', result: 'SUCCESS' })
  await waitFor(() => m.received.length >= 3, 'three attempts')
  // the simulator records the 200 after the merchant has the body; once recorded, no attempt can follow
  const stats = await eventually(async () => await call(`${sim.url}/sim/stats`), (s) => s.json.notifications[0]?.state === 'delivered')
  t.equal(m.received.length, 3, 'no attempt after the 200')
  t.equal(new Set(m.received.map((r) => r.body)).size, 1, 'every attempt carries the same body')
  for (const r of m.received) t.ok(signedBySim(sim, r.headers as Record<string, string>, r.body), 'each attempt is signed')
  const n = JSON.parse(m.received[0]!.body)
  t.equal(n.event_type, 'TRANSACTION.SUCCESS')
  t.equal(n.resource_type, 'encrypt-resource')
  t.equal(n.resource.algorithm, 'AEAD_AES_256_GCM')
  const data = Buffer.from(n.resource.ciphertext, 'base64')
  const decipher = createDecipheriv('aes-256-gcm', Buffer.from(sim.keys.apiV3Key), Buffer.from(n.resource.nonce))
  decipher.setAAD(Buffer.from(n.resource.associated_data))
  decipher.setAuthTag(data.subarray(-16))
  const tx = JSON.parse(Buffer.concat([decipher.update(data.subarray(0, -16)), decipher.final()]).toString())
  t.equal(tx.out_trade_no, 'ORDER000005')
  t.equal(tx.trade_state, 'SUCCESS')
  t.equal(tx.mchid, sim.keys.mchid)
  t.equal(stats.json.notifications[0].state, 'delivered')
  t.equal(stats.json.notifications[0].attempts, 3)
})

t.test('a merchant that never accepts gets the whole schedule, then the notification is given up', async (t) => {
  const sim = await startSimulator(t, { SIM_NOTIFY_SCHEDULE: '10ms,10ms' })
  const m = await merchant(t, [500, 500, 500, 500])
  await payCall(sim, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sim, 'ORDER000006', m.url))
  const paid = await post(`${sim.url}/sim/pay`, { outTradeNo: 'ORDER000006', result: 'SUCCESS' })
  await waitFor(() => m.received.length >= 3, 'three attempts')
  await waitFor(() => sim.app.sim.notifier.get(paid.json.notificationId)?.state === 'failed', 'notification given up')
  t.equal(m.received.length, 3)
  const again = await post(`${sim.url}/sim/notifications/redeliver`, { subject: 'ORDER000006' })
  t.equal(again.status, 200)
  await waitFor(() => m.received.length >= 4, 'the redelivery')
  t.equal(m.received[3]!.body, m.received[0]!.body, 'a redelivery is the same notification')
})

t.test('refunds settle on their own and notify the refund\'s notify_url; a failed payment is not notified', async (t) => {
  const sim = await startSimulator(t, { SIM_REFUND_SETTLE_MS: '10' })
  const m = await merchant(t, [])
  const r = await merchant(t, [])
  await payCall(sim, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sim, 'ORDER000007', m.url))
  await post(`${sim.url}/sim/pay`, { outTradeNo: 'ORDER000007', result: 'SUCCESS' })
  await payCall(sim, 'POST', '/v3/refund/domestic/refunds', { out_trade_no: 'ORDER000007', out_refund_no: 'REFUND0007', notify_url: r.url, amount: { refund: 100, total: 100, currency: 'CNY' } })
  await waitFor(() => r.received.length >= 1, 'the refund notification')
  t.equal(JSON.parse(r.received[0]!.body).event_type, 'REFUND.SUCCESS')
  t.equal((await payCall(sim, 'GET', `/v3/pay/transactions/out-trade-no/ORDER000007?mchid=${sim.keys.mchid}`)).json.trade_state, 'REFUND')

  await payCall(sim, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sim, 'ORDER000008', m.url))
  const failed = await post(`${sim.url}/sim/pay`, { outTradeNo: 'ORDER000008', result: 'FAIL' })
  t.equal(failed.json.tradeState, 'PAYERROR')
  t.equal((await payCall(sim, 'GET', `/v3/pay/transactions/out-trade-no/ORDER000008?mchid=${sim.keys.mchid}`)).json.trade_state, 'PAYERROR')
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(m.received.filter((x) => JSON.parse(x.body).event_type === 'TRANSACTION.SUCCESS').length, 1, 'only the successful payment was notified')
})
