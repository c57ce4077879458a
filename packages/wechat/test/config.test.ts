import t from 'tap'
import { writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Type } from '@sinclair/typebox'
import pino from 'pino'
import { ConfigError, loadConfig } from '@wxmp/core'
import { selfSignedCert } from '@wxmp/testing'
import { configurePush, startSimulator } from '@wxmp/wechat-sim/testing'
import { loadWechatPayKeys, pushCodecFromConfig, shippingClientFromConfig, wechatConfigProperties, wechatPayClientFromConfig, wechatPayConfigProperties, wechatPushConfigProperties } from '../src/config.js'
import { miniProgram, simPost } from './helpers/setup.js'

const Schema = Type.Object({ ...wechatConfigProperties, ...wechatPayConfigProperties })

function problem (fn: () => unknown): string[] {
  try { fn() } catch (err) { if (err instanceof ConfigError) return err.variables; throw err }
  return []
}

t.test('a service built from the simulator\'s env talks to it through the config helpers', async (t) => {
  const sim = await startSimulator(t)
  const config = loadConfig(Schema, { ...sim.env, WECHATPAY_NOTIFY_URL: 'https://localhost:8443/v1/payments/wechat/notify' })
  t.equal(config.WECHAT_API_BASE_URL, sim.url)
  const pay = wechatPayClientFromConfig(config, { log: pino({ level: 'silent' }) })
  const { prepayId } = await pay.jsapiPrepay({ outTradeNo: 'CFG0000001', description: 'x', amountFen: 1, payerOpenid: 'oCfg' })
  t.match(prepayId, /^wx/)
  const paid = await simPost(sim, '/sim/pay', { outTradeNo: 'CFG0000001', result: 'SUCCESS' })
  t.equal(paid.tradeState, 'SUCCESS')
})

t.test('production defaults point at the real WeChat hosts', async (t) => {
  const sim = await startSimulator(t)
  const { WECHAT_API_BASE_URL: _a, WECHATPAY_API_BASE_URL: _b, ...rest } = sim.env
  const config = loadConfig(Schema, { ...rest, WECHATPAY_NOTIFY_URL: 'https://api.example.com/v1/payments/wechat/notify' })
  t.equal(config.WECHAT_API_BASE_URL, 'https://api.weixin.qq.com')
  t.equal(config.WECHATPAY_API_BASE_URL, 'https://api.mch.weixin.qq.com')
})

t.test('bad key settings stop the service with the variable\'s name', async (t) => {
  const sim = await startSimulator(t)
  const base = loadConfig(Schema, { ...sim.env, WECHATPAY_NOTIFY_URL: 'https://x.example/n' })
  const dir = mkdtempSync(join(tmpdir(), 'wxmp-cfg-'))
  writeFileSync(join(dir, 'short'), 'tooshort')
  writeFileSync(join(dir, 'garbage.pem'), 'not a key')
  t.same(problem(() => loadWechatPayKeys({ ...base, WECHATPAY_APIV3_KEY_FILE: join(dir, 'short') })), ['WECHATPAY_APIV3_KEY_FILE'])
  t.same(problem(() => loadWechatPayKeys({ ...base, WECHATPAY_MERCHANT_PRIVATE_KEY_FILE: join(dir, 'missing.pem') })), ['WECHATPAY_MERCHANT_PRIVATE_KEY_FILE'])
  t.same(problem(() => loadWechatPayKeys({ ...base, WECHATPAY_PUBLIC_KEYS: `PUB_KEY_ID_01=${join(dir, 'garbage.pem')}` })), ['WECHATPAY_PUBLIC_KEYS'])
  t.same(problem(() => loadWechatPayKeys({ ...base, WECHATPAY_PUBLIC_KEYS: 'no-equals-sign' })), ['WECHATPAY_PUBLIC_KEYS'])
  t.same(problem(() => loadWechatPayKeys({ ...base, WECHATPAY_PUBLIC_KEYS: '' })), ['WECHATPAY_PUBLIC_KEYS'])
  const { cert } = await selfSignedCert()
  writeFileSync(join(dir, 'platform.pem'), cert)
  const keys = loadWechatPayKeys({ ...base, WECHATPAY_PUBLIC_KEYS: `${base.WECHATPAY_PUBLIC_KEYS},PUB_KEY_ID_0200000000000000000000000000001=${sim.keys.files.wechatpayPublicKey}`, WECHATPAY_PLATFORM_CERT_FILES: join(dir, 'platform.pem') })
  t.equal(keys.wechatpayPublicKeys.size, 2, 'two public keys during a migration')
  t.equal(keys.platformCertificates.length, 1, 'and a platform certificate')
  t.same(problem(() => loadConfig(Schema, { ...sim.env, WECHATPAY_NOTIFY_URL: 'https://x.example/n', WECHAT_APPID: 'not-an-appid' })), ['WECHAT_APPID'])
})

t.test('the push and shipping helpers: a service configured from configurePush opens the simulator\'s pushes', async (t) => {
  const sim = await startSimulator(t, { SIM_VIRTUAL_AUTO_CONFIRM_MS: '0', SIM_SETTLEMENT_DELAY_MS: '-1' })
  const opened: Array<Record<string, unknown>> = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      opened.push(codec.open(Object.fromEntries(new URL(req.url ?? '/', 'http://x').searchParams), Buffer.concat(chunks)))
      res.end('success')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise((resolve) => server.close(resolve)) })
  const pushEnv = await configurePush(sim, `http://127.0.0.1:${(server.address() as AddressInfo).port}/push`, { format: 'xml' })
  const PushSchema = Type.Object({ ...wechatConfigProperties, ...wechatPushConfigProperties })
  const config = loadConfig(PushSchema, { ...sim.env, ...pushEnv })
  const codec = pushCodecFromConfig(config)

  const pay = wechatPayClientFromConfig(loadConfig(Schema, { ...sim.env, WECHATPAY_NOTIFY_URL: 'https://localhost:8443/n' }), { log: pino({ level: 'silent' }) })
  await pay.jsapiPrepay({ outTradeNo: 'CFG0000002', description: 'x', amountFen: 1, payerOpenid: 'oCfg' })
  const { transactionId } = await simPost(sim, '/sim/pay', { outTradeNo: 'CFG0000002', result: 'SUCCESS' })
  const { client: mp } = miniProgram(t, sim)
  const shipping = shippingClientFromConfig(config, { miniProgram: mp, log: pino({ level: 'silent' }) })
  await shipping.uploadShippingInfo({ order_key: { order_number_type: 2, transaction_id: transactionId }, logistics_type: 3, delivery_mode: 1, shipping_list: [{ item_desc: 'x' }], upload_time: new Date().toISOString(), payer: { openid: 'oCfg' } })
  const deadline = Date.now() + 10_000
  while (opened.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  t.match(opened[0], { Event: 'trade_manage_order_settlement', transaction_id: transactionId, confirm_receive_method: '2' })
  t.same(problem(() => pushCodecFromConfig({ ...config, WECHAT_PUSH_ENCODING_AES_KEY: '' })), ['WECHAT_PUSH_ENCODING_AES_KEY'])
  t.same(problem(() => loadConfig(PushSchema, { ...sim.env, ...pushEnv, WECHAT_PUSH_TOKEN: 'x' })), ['WECHAT_PUSH_TOKEN'])
})
