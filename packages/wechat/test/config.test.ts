import t from 'tap'
import { writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Type } from '@sinclair/typebox'
import pino from 'pino'
import { ConfigError, loadConfig } from '@wxmp/core'
import { selfSignedCert } from '@wxmp/testing'
import { startSimulator } from '@wxmp/wechat-sim/testing'
import { loadWechatPayKeys, wechatConfigProperties, wechatPayClientFromConfig, wechatPayConfigProperties } from '../src/config.js'
import { simPost } from './helpers/setup.js'

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
