import t from 'tap'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Teardown } from '@wxmp/testing'
import { startSimulator } from '@wxmp/wechat-sim/testing'
import { PushCodec, type PushFormat, type PushMessage, type PushMode } from '../../src/push/codec.js'
import { shippingUploadTime } from '../../src/shipping/types.js'
import { ShippingClient } from '../../src/shipping/client.js'
import { miniProgram, simPost, testLogger, wechatPay } from '../helpers/setup.js'

const TOKEN = 'wxmpPushToken01'
const AES_KEY = 'kWxPL5Ee2Qoz5p7f8jIyMpWx0V5Ej9ix7Zy0MZxYWJB'
const OPENID = 'oUser000000000000000000000001'

/** A push receiver that opens every push with the library and answers `success`, or 400 when it does not open. */
async function receiver (t: Teardown, codec: PushCodec): Promise<{ url: string, opened: PushMessage[], refused: number }> {
  const state = { opened: [] as PushMessage[], refused: 0, url: '' }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const query = Object.fromEntries(new URL(req.url ?? '/', 'http://x').searchParams)
      try {
        state.opened.push(codec.open(query, Buffer.concat(chunks)))
        res.writeHead(200).end('success')
      } catch {
        state.refused++
        res.writeHead(400).end()
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise((resolve) => server.close(resolve)) })
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/wechat/push`
  return state
}

async function until (check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

for (const [mode, format] of [['safe', 'json'], ['compatible', 'xml'], ['plain', 'json']] as Array<[PushMode, PushFormat]>) {
  t.test(`the simulator's ${mode} ${format} pushes open with PushCodec: a virtual payment settles on its own`, async (t) => {
    const sim = await startSimulator(t, { SIM_VIRTUAL_AUTO_CONFIRM_MS: '10', SIM_SETTLEMENT_DELAY_MS: '10' })
    const codec = new PushCodec({ token: TOKEN, appid: sim.keys.appid, encodingAesKey: AES_KEY, mode, format })
    const merchant = await receiver(t, codec)
    await fetch(`${sim.url}/sim/push-config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: merchant.url, token: TOKEN, encodingAesKey: AES_KEY, mode, format }) })

    const outTradeNo = `PUSH${mode.slice(0, 4).toUpperCase()}01`
    await wechatPay(sim).client.jsapiPrepay({ outTradeNo, description: 'Gift card', amountFen: 500, payerOpenid: OPENID })
    const { transactionId } = await simPost(sim, '/sim/pay', { outTradeNo, result: 'SUCCESS' })
    const { client: mp } = miniProgram(t, sim)
    await new ShippingClient({ baseUrl: sim.url, accessTokens: mp.accessTokens, log: testLogger().log }).uploadShippingInfo({
      order_key: { order_number_type: 1, mchid: sim.keys.mchid, out_trade_no: outTradeNo },
      logistics_type: 3,
      delivery_mode: 1,
      shipping_list: [{ item_desc: 'Gift card' }],
      upload_time: shippingUploadTime(),
      payer: { openid: OPENID }
    })

    await until(() => merchant.opened.length === 2)
    t.equal(merchant.refused, 0)
    const settlement = merchant.opened.map((m) => ({ event: m.Event, tx: m.transaction_id, trade: m.merchant_trade_no, method: String(m.confirm_receive_method), settled: m.settlement_time !== undefined }))
    t.same(settlement, [
      { event: 'trade_manage_order_settlement', tx: transactionId, trade: outTradeNo, method: '2', settled: false },
      { event: 'trade_manage_order_settlement', tx: transactionId, trade: outTradeNo, method: '2', settled: true }
    ])
    t.equal(merchant.opened[0]!.FromUserName, OPENID)
  })
}

t.test('a push the simulator signs wrongly is refused by PushCodec and retried', async (t) => {
  const sim = await startSimulator(t, { SIM_NOTIFY_SCHEDULE_SCALE: '0.001', SIM_PUSH_SCHEDULE: '1s,1s' })
  const codec = new PushCodec({ token: TOKEN, appid: sim.keys.appid, encodingAesKey: AES_KEY, mode: 'safe', format: 'json' })
  const merchant = await receiver(t, codec)
  await fetch(`${sim.url}/sim/push-config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: merchant.url, token: TOKEN, encodingAesKey: AES_KEY, mode: 'safe', format: 'json' }) })
  await simPost(sim, '/sim/faults', { endpoint: 'push', badSignature: true, times: 1 })
  await wechatPay(sim).client.jsapiPrepay({ outTradeNo: 'PUSHBAD001', description: 'Coffee', amountFen: 500, payerOpenid: OPENID })
  const { transactionId } = await simPost(sim, '/sim/pay', { outTradeNo: 'PUSHBAD001', result: 'SUCCESS' })
  await simPost(sim, '/sim/remind-shipping', { transactionId })
  await until(() => merchant.opened.length === 1)
  t.equal(merchant.refused, 1, 'the badly signed attempt was refused')
  t.match(merchant.opened[0], { Event: 'trade_manage_remind_shipping', transaction_id: transactionId })
})
