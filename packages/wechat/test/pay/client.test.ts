import t from 'tap'
import { createVerify } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { eventually, rsaKeyPairSync, type Teardown } from '@wxmp/testing'
import { startSimulator, type RunningSimulator } from '@wxmp/wechat-sim/testing'
import { caught, simPost, simStats, wechatPay } from '../helpers/setup.js'

const OPENID = 'oPayer00000000000000000000001'

async function order (sim: RunningSimulator, outTradeNo: string, extra: Record<string, unknown> = {}): Promise<string> {
  const { client } = wechatPay(sim)
  return (await client.jsapiPrepay({ outTradeNo, description: 'Coffee', amountFen: 1800, payerOpenid: OPENID, ...extra })).prepayId
}

t.test('a JSAPI payment from prepay to refund, every response verified', async (t) => {
  const sim = await startSimulator(t, { SIM_REFUND_SETTLE_MS: '-1' })
  const { client } = wechatPay(sim)
  const { prepayId } = await client.jsapiPrepay({ outTradeNo: 'PAY0000001', description: 'Coffee', amountFen: 1800, payerOpenid: OPENID, attach: 'cart-7', timeExpire: new Date(Date.now() + 900_000) })
  t.match(prepayId, /^wx/)
  const params = client.jsapiPayParams(prepayId)
  t.ok(createVerify('RSA-SHA256').update(`${params.appId}\n${params.timeStamp}\n${params.nonceStr}\n${params.package}\n`).verify(sim.keys.merchantPublicKeyPem, params.paySign, 'base64'), 'paySign verifies with the merchant key')
  t.equal((await client.queryByOutTradeNo('PAY0000001')).trade_state, 'NOTPAY')
  await simPost(sim, '/sim/pay', { outTradeNo: 'PAY0000001', result: 'SUCCESS' })
  const paid = await client.queryByOutTradeNo('PAY0000001')
  t.equal(paid.trade_state, 'SUCCESS')
  t.equal(paid.amount.total, 1800)
  t.equal(paid.payer?.openid, OPENID)
  t.equal(paid.attach, 'cart-7')
  t.match(paid.transaction_id, /^\d{28}$/)
  const refund = await client.refund({ outTradeNo: 'PAY0000001', outRefundNo: 'RF00000001', refundFen: 800, totalFen: 1800, reason: 'cold coffee' })
  t.equal(refund.status, 'PROCESSING')
  t.equal(refund.amount.refund, 800)
  await simPost(sim, '/sim/refund', { outRefundNo: 'RF00000001', result: 'SUCCESS' })
  t.equal((await client.queryRefund('RF00000001')).status, 'SUCCESS')
  await order(sim, 'PAY0000002')
  await client.closeOrder('PAY0000002')
  t.equal((await client.queryByOutTradeNo('PAY0000002')).trade_state, 'CLOSED')
})

t.test('each WeChat Pay error class maps to its catalogue error, and a 4xx is never retried', async (t) => {
  const sim = await startSimulator(t)
  const { client } = wechatPay(sim, { retries: 2 })
  await order(sim, 'PAY0000010')
  const cases: Array<[string, number, string, number, () => Promise<unknown>]> = [
    ['jsapi', 401, 'SIGN_ERROR', 0, async () => await order(sim, 'PAY0000011')],
    ['jsapi', 403, 'NO_AUTH', 0, async () => await order(sim, 'PAY0000011')],
    ['jsapi', 400, 'PARAM_ERROR', 0, async () => await order(sim, 'PAY0000011')],
    ['jsapi', 400, 'INVALID_REQUEST', 0, async () => await order(sim, 'PAY0000011')],
    ['jsapi', 400, 'ORDERPAID', 0, async () => await order(sim, 'PAY0000011')],
    ['close', 400, 'ORDER_CLOSED', 0, async () => await client.closeOrder('PAY0000010')],
    ['jsapi', 403, 'OUT_TRADE_NO_USED', 0, async () => await order(sim, 'PAY0000011')],
    ['refund', 403, 'NOT_ENOUGH', 0, async () => await client.refund({ outTradeNo: 'PAY0000010', outRefundNo: 'RF0000010', refundFen: 1, totalFen: 1800 })],
    ['query', 404, 'ORDER_NOT_EXIST', 0, async () => await client.queryByOutTradeNo('PAY0000010')],
    ['query_refund', 404, 'RESOURCE_NOT_EXISTS', 0, async () => await client.queryRefund('RF0000010')],
    ['jsapi', 403, 'TRADE_ERROR', 0, async () => await order(sim, 'PAY0000011')],
    ['jsapi', 403, 'RULE_LIMIT', 0, async () => await order(sim, 'PAY0000011')],
    ['jsapi', 429, 'FREQUENCY_LIMITED', 0, async () => await order(sim, 'PAY0000011')]
  ]
  const expected: Record<string, [string, number]> = {
    SIGN_ERROR: ['WECHATPAY_AUTH_FAILED', 502],
    NO_AUTH: ['WECHATPAY_AUTH_FAILED', 502],
    PARAM_ERROR: ['WECHATPAY_BAD_REQUEST', 502],
    INVALID_REQUEST: ['WECHATPAY_BAD_REQUEST', 502],
    ORDERPAID: ['WECHATPAY_ORDER_PAID', 409],
    ORDER_CLOSED: ['WECHATPAY_ORDER_CLOSED', 409],
    OUT_TRADE_NO_USED: ['WECHATPAY_OUT_TRADE_NO_USED', 409],
    NOT_ENOUGH: ['WECHATPAY_NOT_ENOUGH', 409],
    ORDER_NOT_EXIST: ['WECHATPAY_NOT_FOUND', 404],
    RESOURCE_NOT_EXISTS: ['WECHATPAY_NOT_FOUND', 404],
    TRADE_ERROR: ['WECHATPAY_REJECTED', 422],
    RULE_LIMIT: ['WECHATPAY_REJECTED', 422],
    FREQUENCY_LIMITED: ['WECHATPAY_RATE_LIMITED', 429]
  }
  for (const [endpoint, status, code, , run] of cases) {
    await fetch(`${sim.url}/sim/stats`, { method: 'DELETE' })
    await simPost(sim, '/sim/faults', { endpoint, status, code, times: 1 })
    const e = await caught(run())
    t.same([e.code, e.statusCode], expected[code], `${code} -> ${expected[code]?.[0]}`)
    t.equal(e.details.wechatCode, code)
    t.ok(e.details.requestId, 'the Request-ID support asks for is kept')
    t.equal((await simStats(sim)).calls[endpoint], 1, `${code} was not retried`)
  }
})

t.test('the real answers behind the conflicts: paid, closed, reused numbers, unknown orders', async (t) => {
  const sim = await startSimulator(t)
  const { client } = wechatPay(sim)
  await order(sim, 'PAY0000020')
  t.equal((await caught(order(sim, 'PAY0000020', { amountFen: 1 }))).code, 'WECHATPAY_OUT_TRADE_NO_USED')
  await simPost(sim, '/sim/pay', { outTradeNo: 'PAY0000020', result: 'SUCCESS' })
  t.equal((await caught(order(sim, 'PAY0000020'))).code, 'WECHATPAY_ORDER_PAID')
  t.equal((await caught(client.closeOrder('PAY0000020'))).code, 'WECHATPAY_ORDER_PAID')
  await order(sim, 'PAY0000021')
  await client.closeOrder('PAY0000021')
  t.equal((await caught(order(sim, 'PAY0000021'))).code, 'WECHATPAY_ORDER_CLOSED')
  t.equal((await caught(client.queryByOutTradeNo('NEVER000001'))).code, 'WECHATPAY_NOT_FOUND')
  t.equal((await caught(client.refund({ outTradeNo: 'PAY0000020', outRefundNo: 'RF0000020', refundFen: 5000, totalFen: 1800 }))).code, 'WECHATPAY_BAD_REQUEST')
})

t.test('a merchant signing with the wrong key is refused (SIGN_ERROR -> WECHATPAY_AUTH_FAILED)', async (t) => {
  const sim = await startSimulator(t)
  const stranger = rsaKeyPairSync().privateKey
  const { client, logs } = wechatPay(sim, { merchantPrivateKey: stranger })
  const e = await caught(client.queryByOutTradeNo('PAY0000030'))
  t.same([e.code, e.statusCode, e.details.wechatCode], ['WECHATPAY_AUTH_FAILED', 502, 'SIGN_ERROR'])
  t.ok(logs.lines.some((l) => l.msg === 'wechatpay returned an error' && (l.detail as any)?.sign_information !== undefined), 'WeChat\'s diagnosis is logged for the operator')
})

t.test('SYSTEM_ERROR and dropped connections are retried with the same body; past the budget they become 503', async (t) => {
  const sim = await startSimulator(t)
  const { client } = wechatPay(sim, { retries: 2 })
  await simPost(sim, '/sim/faults', [{ endpoint: 'jsapi', status: 500, code: 'SYSTEM_ERROR', times: 1 }, { endpoint: 'jsapi', hangup: true, times: 1 }])
  const prepay = await client.jsapiPrepay({ outTradeNo: 'PAY0000040', description: 'Tea', amountFen: 500, payerOpenid: OPENID })
  t.match(prepay.prepayId, /^wx/)
  const calls = (await simStats(sim)).payCalls.filter((c: { endpoint: string }) => c.endpoint === 'jsapi')
  t.equal(calls.length, 3)
  t.equal(new Set(calls.map((c: { bodySha256: string }) => c.bodySha256)).size, 1, 'the same body every time')
  t.equal(new Set(calls.map((c: { nonce: string }) => c.nonce)).size, 3, 'a fresh signature every time')
  t.equal((await simStats(sim)).prepay.PAY0000040, 3)

  await simPost(sim, '/sim/faults', { endpoint: 'query', status: 500, code: 'SYSTEM_ERROR' })
  const e = await caught(client.queryByOutTradeNo('PAY0000040'))
  t.same([e.code, e.statusCode], ['WECHATPAY_UNAVAILABLE', 503])
  t.equal((await simStats(sim)).calls.query, 3, 'bounded: one call and two retries')
})

t.test('a WeChat Pay that does not answer in time is WECHATPAY_TIMEOUT after the retries', async (t) => {
  const sim = await startSimulator(t)
  const { client } = wechatPay(sim, { retries: 1, timeoutMs: 200 })
  await simPost(sim, '/sim/faults', { endpoint: 'query', latencyMs: 1000 })
  t.same((await caught(client.queryByOutTradeNo('PAY0000050'))).code, 'WECHATPAY_TIMEOUT')
})

t.test('a response whose signature does not verify is an error, never a result', async (t) => {
  const sim = await startSimulator(t)
  const { client } = wechatPay(sim)
  await order(sim, 'PAY0000060')
  await simPost(sim, '/sim/faults', { endpoint: 'query', badSignature: true, times: 1 })
  const e = await caught(client.queryByOutTradeNo('PAY0000060'))
  t.same([e.code, e.statusCode, e.details.reason], ['WECHATPAY_RESPONSE_UNVERIFIED', 502, 'bad_signature'])
  await simPost(sim, '/sim/faults', { endpoint: 'query', code: 'ORDER_NOT_EXIST', badSignature: true, times: 1 })
  t.equal((await caught(client.queryByOutTradeNo('PAY0000060'))).code, 'WECHATPAY_RESPONSE_UNVERIFIED', 'a signed error must verify too')
  const other = rsaKeyPairSync().publicKey
  const { client: stale } = wechatPay(sim, { wechatpayPublicKeys: { PUB_KEY_ID_0100000000000000000000000000001: other } })
  const unknown = await caught(stale.queryByOutTradeNo('PAY0000060'))
  t.same([unknown.code, unknown.details.reason], ['WECHATPAY_RESPONSE_UNVERIFIED', 'unknown_serial'])
})

async function merchant (t: Teardown, sim: RunningSimulator, answer: (body: string, headers: http.IncomingHttpHeaders) => number): Promise<string> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => { res.statusCode = answer(Buffer.concat(chunks).toString('utf8'), req.headers); res.end() })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/payments/wechat/notify`
}

t.test('an unsigned error answer that could settle something is unverified, never a not-found, closed or refused', async (t) => {
  const sim = await startSimulator(t)
  const { client } = wechatPay(sim)
  await order(sim, 'PAY0000070')
  const cases: Array<[string, string, () => Promise<unknown>]> = [
    ['query', 'ORDER_NOT_EXIST', async () => await client.queryByOutTradeNo('PAY0000070')],
    ['close', 'ORDER_NOT_EXIST', async () => await client.closeOrder('PAY0000070')],
    ['close', 'ORDER_CLOSED', async () => await client.closeOrder('PAY0000070')],
    ['refund', 'NOT_ENOUGH', async () => await client.refund({ outTradeNo: 'PAY0000070', outRefundNo: 'RF0000070', refundFen: 1, totalFen: 1800 })],
    ['refund', 'PARAM_ERROR', async () => await client.refund({ outTradeNo: 'PAY0000070', outRefundNo: 'RF0000071', refundFen: 1, totalFen: 1800 })],
    ['query_refund', 'RESOURCE_NOT_EXISTS', async () => await client.queryRefund('RF0000070')]
  ]
  for (const [endpoint, code, run] of cases) {
    await simPost(sim, '/sim/faults', { endpoint, code, unsigned: true, times: 1 })
    const e = await caught(run())
    t.same([e.code, e.statusCode, e.details.reason, e.details.wechatCode], ['WECHATPAY_RESPONSE_UNVERIFIED', 502, 'unsigned', code], `unsigned ${code} from ${endpoint}`)
  }
  // Unsigned by nature, and settling nothing: WeChat Pay refusing our signature, and its front end's rate limit.
  await simPost(sim, '/sim/faults', { endpoint: 'query', code: 'SIGN_ERROR', unsigned: true, times: 1 })
  t.equal((await caught(client.queryByOutTradeNo('PAY0000070'))).code, 'WECHATPAY_AUTH_FAILED')
  await simPost(sim, '/sim/faults', { endpoint: 'query', code: 'FREQUENCY_LIMITED', unsigned: true, times: 1 })
  t.equal((await caught(client.queryByOutTradeNo('PAY0000070'))).code, 'WECHATPAY_RATE_LIMITED')
  t.equal((await client.queryByOutTradeNo('PAY0000070')).trade_state, 'NOTPAY', 'the order is untouched at WeChat Pay')
})

t.test('notifications from the simulator verify and decrypt; a probe signature is refused and redelivered', async (t) => {
  const sim = await startSimulator(t, { SIM_NOTIFY_SCHEDULE_SCALE: '0.001', SIM_REFUND_SETTLE_MS: '10' })
  const { client } = wechatPay(sim)
  const accepted: Array<{ event: string, resource: any }> = []
  let refused = 0
  const url = await merchant(t, sim, (body, headers) => {
    try {
      const n = client.verifyNotification(headers, body)
      accepted.push({ event: n.event_type, resource: n.resource })
      return 204
    } catch (err) {
      refused++
      return (err as { statusCode: number }).statusCode
    }
  })
  await simPost(sim, '/sim/faults', { endpoint: 'notify', badSignature: true, times: 1 })
  await client.jsapiPrepay({ outTradeNo: 'PAY0000070', description: 'Cake', amountFen: 2600, payerOpenid: OPENID, notifyUrl: url })
  await simPost(sim, '/sim/pay', { outTradeNo: 'PAY0000070', result: 'SUCCESS' })
  await client.refund({ outTradeNo: 'PAY0000070', outRefundNo: 'RF0000070', refundFen: 2600, totalFen: 2600, notifyUrl: url })
  await eventually(() => accepted.length, (n) => n >= 2)
  t.equal(refused, 1, 'the probe was refused')
  const payment = accepted.find((a) => a.event === 'TRANSACTION.SUCCESS')
  t.equal(payment?.resource.out_trade_no, 'PAY0000070')
  t.equal(payment?.resource.amount.total, 2600)
  const refund = accepted.find((a) => a.event === 'REFUND.SUCCESS')
  t.equal(refund?.resource.out_refund_no, 'RF0000070')
  t.equal(refund?.resource.refund_status, 'SUCCESS')
})
