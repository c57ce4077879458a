import t from 'tap'
import type { Teardown } from '@wxmp/testing'
import { startSimulator, type RunningSimulator } from '@wxmp/wechat-sim/testing'
import { ShippingClient, type ShippingClientOptions } from '../../src/shipping/client.js'
import { LogisticsType, OrderState, shippingUploadTime, type UploadShippingInfoRequest } from '../../src/shipping/types.js'
import { caught, miniProgram, simPost, simStats, testLogger, wechatPay } from '../helpers/setup.js'

const OPENID = 'oUser000000000000000000000001'

function shipping (t: Teardown, sim: RunningSimulator, opts: Partial<ShippingClientOptions> = {}): ShippingClient {
  const { client: mp } = miniProgram(t, sim)
  return new ShippingClient({ baseUrl: sim.url, accessTokens: mp.accessTokens, log: testLogger().log, retryBaseMs: 10, ...opts })
}

async function paid (sim: RunningSimulator, outTradeNo: string): Promise<string> {
  await wechatPay(sim).client.jsapiPrepay({ outTradeNo, description: 'Coffee', amountFen: 1800, payerOpenid: OPENID })
  return (await simPost(sim, '/sim/pay', { outTradeNo, result: 'SUCCESS' })).transactionId as string
}

const express = (transactionId: string, trackingNo = 'SF1234567890'): UploadShippingInfoRequest => ({
  order_key: { order_number_type: 2, transaction_id: transactionId },
  logistics_type: LogisticsType.Express,
  delivery_mode: 1,
  shipping_list: [{ tracking_no: trackingNo, express_company: 'SF', item_desc: 'Coffee beans 1kg', contact: { consignor_contact: '189****1234' } }],
  upload_time: shippingUploadTime(),
  payer: { openid: OPENID }
})

t.test('upload, read back, modify once; the third upload is refused with its own code', async (t) => {
  const sim = await startSimulator(t)
  const client = shipping(t, sim)
  const tx = await paid(sim, 'SHIPC00001')
  t.match(await client.getOrder({ transaction_id: tx }), { transaction_id: tx, merchant_trade_no: 'SHIPC00001', paid_amount: 1800, order_state: OrderState.Unshipped })
  await client.uploadShippingInfo(express(tx))
  const shipped = await client.getOrder({ merchant_id: sim.keys.mchid, merchant_trade_no: 'SHIPC00001' })
  t.equal(shipped.order_state, OrderState.Shipped)
  t.equal(shipped.shipping?.shipping_list[0]?.tracking_no, 'SF1234567890')
  await client.uploadShippingInfo(express(tx, 'SF0000000002'))
  t.match(await caught(client.uploadShippingInfo(express(tx, 'SF0000000003'))), { code: 'WECHAT_SHIPPING_MODIFICATION_USED', statusCode: 409, details: { errcode: 10060003 } })
  t.match(await caught(client.getOrder({ transaction_id: '4200000000000000000000000000' })), { code: 'WECHAT_SHIPPING_ORDER_NOT_FOUND', statusCode: 404 })
  t.match(await caught(client.uploadShippingInfo({ ...express(tx), upload_time: '2026-01-01 00:00:00' })), { code: 'WECHAT_SHIPPING_INVALID', statusCode: 422, details: { errcode: 268485216 } })

  t.equal(await client.isTradeManaged(sim.keys.appid), true)
  await client.setMsgJumpPath('pages/orders/detail')
  await client.notifyConfirmReceive({ transaction_id: tx, received_time: Math.floor(Date.now() / 1000) + 5 })
  await simPost(sim, '/sim/confirm-receipt', { transactionId: tx })
  t.match(await caught(client.uploadShippingInfo(express(tx, 'SF0000000004'))), { code: 'WECHAT_SHIPPING_NOT_SHIPPABLE', statusCode: 409 })
  t.match(shippingUploadTime(Date.UTC(2022, 11, 15, 5, 29, 35, 120)), '2022-12-15T13:29:35.120+08:00', 'upload_time as WeChat\'s example writes it')
})

t.test('an upload is never retried: a lost answer, a 5xx or a timeout is reported as uncertain, and get_order tells', async (t) => {
  const sim = await startSimulator(t)
  const client = shipping(t, sim, { timeoutMs: 300 })
  const tx = await paid(sim, 'SHIPC00002')

  await simPost(sim, '/sim/faults', { endpoint: 'upload_shipping_info', lostAnswer: true, times: 1 })
  t.match(await caught(client.uploadShippingInfo(express(tx))), { code: 'WECHAT_UNAVAILABLE', details: { api: 'upload_shipping_info', uncertain: true } })
  t.equal((await client.getOrder({ transaction_id: tx })).order_state, OrderState.Shipped, 'the platform recorded it')
  t.equal((await simStats(sim)).shippingUploads[tx], 1, 'exactly one upload was carried out')

  const tx2 = await paid(sim, 'SHIPC00003')
  await simPost(sim, '/sim/faults', [{ endpoint: 'upload_shipping_info', status: 503, times: 1 }, { endpoint: 'upload_shipping_info', errcode: -1, times: 1 }])
  t.match(await caught(client.uploadShippingInfo(express(tx2))), { code: 'WECHAT_UNAVAILABLE', details: { uncertain: true } })
  t.match(await caught(client.uploadShippingInfo(express(tx2))), { code: 'WECHAT_UNAVAILABLE', details: { errcode: -1, uncertain: true } })
  await simPost(sim, '/sim/faults', { endpoint: 'upload_shipping_info', latencyMs: 1000, times: 1 })
  t.match(await caught(client.uploadShippingInfo(express(tx2))), { code: 'WECHAT_TIMEOUT', details: { uncertain: true } })
  t.equal((await simStats(sim)).calls.upload_shipping_info, 4, 'one call per attempt: nothing retried blind')
})

t.test('reads are retried on system busy and 5xx; a rejected access_token is replaced once', async (t) => {
  const sim = await startSimulator(t)
  const client = shipping(t, sim)
  const tx = await paid(sim, 'SHIPC00004')
  await simPost(sim, '/sim/faults', [{ endpoint: 'get_order', errcode: -1, times: 1 }, { endpoint: 'get_order', status: 502, times: 1 }])
  t.equal((await client.getOrder({ transaction_id: tx })).order_state, OrderState.Unshipped)
  t.equal((await simStats(sim)).calls.get_order, 3)

  const { client: mp } = miniProgram(t, sim)
  const own = new ShippingClient({ baseUrl: sim.url, accessTokens: mp.accessTokens, log: testLogger().log })
  const token = await mp.getAccessToken()
  await simPost(sim, '/sim/access-token/expire', { token })
  await own.uploadShippingInfo(express(tx))
  t.not(await mp.getAccessToken(), token, 'the expired token was dropped and replaced')
  t.equal((await simStats(sim)).shippingUploads[tx], 1)
})
