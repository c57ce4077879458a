import { randomBytes, randomInt } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { createFastify, loadConfig } from '@wxmp/core'
import { LogCollector, rsaKeyPair, type Teardown } from '@wxmp/testing'
import app from './app.js'
import { ConfigSchema, type Config } from './config.js'

/** The secrets a simulator and the services under test share, as values and as files. */
export interface SimulatorKeys {
  appid: string
  secret: string
  mchid: string
  merchantSerialNo: string
  merchantPrivateKeyPem: string
  merchantPublicKeyPem: string
  wechatpayPublicKeyId: string
  wechatpayPrivateKeyPem: string
  wechatpayPublicKeyPem: string
  apiV3Key: string
  /** The virtual-payment OfferId and AppKey. */
  xpayOfferId: string
  xpayAppKey: string
  files: { merchantPrivateKey: string, merchantPublicKey: string, wechatpayPrivateKey: string, wechatpayPublicKey: string, apiV3Key: string, xpayAppKey: string }
}

const digits = (n: number): string => Array.from({ length: n }, () => String(randomInt(10))).join('')

let cached: Promise<SimulatorKeys> | undefined

/** A merchant and a WeChat Pay key pair of their own, made once per test process and written to files. */
export async function simulatorKeys (): Promise<SimulatorKeys> {
  cached ??= (async () => {
    const [merchant, wechatpay] = await Promise.all([rsaKeyPair(), rsaKeyPair()])
    const dir = mkdtempSync(join(tmpdir(), 'wxmp-sim-'))
    const file = (name: string, content: string): string => {
      const path = join(dir, name)
      writeFileSync(path, content, { mode: 0o600 })
      return path
    }
    const apiV3Key = randomBytes(24).toString('base64').slice(0, 32)
    const xpayAppKey = randomBytes(16).toString('hex')
    return {
      appid: 'wx' + randomBytes(8).toString('hex'),
      secret: randomBytes(16).toString('hex'),
      mchid: '19' + digits(8),
      merchantSerialNo: randomBytes(20).toString('hex').toUpperCase(),
      merchantPrivateKeyPem: merchant.privateKey,
      merchantPublicKeyPem: merchant.publicKey,
      wechatpayPublicKeyId: 'PUB_KEY_ID_01' + digits(28),
      wechatpayPrivateKeyPem: wechatpay.privateKey,
      wechatpayPublicKeyPem: wechatpay.publicKey,
      apiV3Key,
      xpayOfferId: '14' + digits(8),
      xpayAppKey,
      files: {
        merchantPrivateKey: file('merchant-key.pem', merchant.privateKey),
        merchantPublicKey: file('merchant-public.pem', merchant.publicKey),
        wechatpayPrivateKey: file('wechatpay-key.pem', wechatpay.privateKey),
        wechatpayPublicKey: file('wechatpay-public.pem', wechatpay.publicKey),
        apiV3Key: file('apiv3-key', apiV3Key),
        xpayAppKey: file('xpay-app-key', xpayAppKey)
      }
    }
  })()
  return await cached
}

export interface RunningSimulator {
  /** Base URL of both simulated hosts (api.weixin.qq.com and api.mch.weixin.qq.com). */
  url: string
  app: FastifyInstance
  config: Config
  keys: SimulatorKeys
  logs: LogCollector
  /** The environment a service needs to call this simulator: WECHAT_* and WECHATPAY_* (notify URL aside). */
  env: Record<string, string>
}

/** The simulator's environment for these keys; `overrides` wins. */
export function simulatorEnv (keys: SimulatorKeys, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    LOG_LEVEL: 'debug',
    WECHAT_APPID: keys.appid,
    WECHAT_SECRET: keys.secret,
    WECHATPAY_MCHID: keys.mchid,
    WECHATPAY_MERCHANT_SERIAL_NO: keys.merchantSerialNo,
    WECHATPAY_APIV3_KEY_FILE: keys.files.apiV3Key,
    SIM_MERCHANT_PUBLIC_KEY_FILE: keys.files.merchantPublicKey,
    SIM_WECHATPAY_PRIVATE_KEY_FILE: keys.files.wechatpayPrivateKey,
    SIM_WECHATPAY_PUBLIC_KEY_ID: keys.wechatpayPublicKeyId,
    SIM_XPAY_OFFER_ID: keys.xpayOfferId,
    SIM_XPAY_APP_KEY: keys.xpayAppKey,
    ...overrides
  }
}

/** A fresh simulator listening on a spare port of 127.0.0.1, closed when the test ends. */
export async function startSimulator (t: Teardown, overrides: Record<string, string> = {}): Promise<RunningSimulator> {
  const keys = await simulatorKeys()
  const config = loadConfig(ConfigSchema, simulatorEnv(keys, overrides))
  const logs = new LogCollector()
  // Tests end abruptly (aborted calls, dropped connections); closing must not wait for a socket left half used.
  const server = createFastify({ service: 'wechat-sim', level: config.LOG_LEVEL, stream: logs, server: { forceCloseConnections: true } })
  await server.register(fp(app), { config })
  t.teardown(async () => { await server.close() })
  await server.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`
  return {
    url,
    app: server,
    config,
    keys,
    logs,
    env: {
      WECHAT_APPID: keys.appid,
      WECHAT_SECRET: keys.secret,
      WECHAT_API_BASE_URL: url,
      WECHATPAY_API_BASE_URL: url,
      WECHATPAY_MCHID: keys.mchid,
      WECHATPAY_MERCHANT_SERIAL_NO: keys.merchantSerialNo,
      WECHATPAY_MERCHANT_PRIVATE_KEY_FILE: keys.files.merchantPrivateKey,
      WECHATPAY_APIV3_KEY_FILE: keys.files.apiV3Key,
      WECHATPAY_PUBLIC_KEYS: `${keys.wechatpayPublicKeyId}=${keys.files.wechatpayPublicKey}`,
      XPAY_OFFER_ID: keys.xpayOfferId,
      XPAY_APP_KEY_FILE: keys.files.xpayAppKey
    }
  }
}

/**
 * Points the simulator's message pushes at `url` with push secrets of their own and returns the `WECHAT_PUSH_*`
 * environment the receiving service needs to open them.
 */
export async function configurePush (sim: RunningSimulator, url: string, opts: { mode?: 'plain' | 'compatible' | 'safe', format?: 'json' | 'xml' } = {}): Promise<Record<string, string>> {
  const token = randomBytes(12).toString('hex')
  const encodingAesKey = randomBytes(32).toString('base64').slice(0, 43)
  const mode = opts.mode ?? 'safe'
  const format = opts.format ?? 'json'
  const res = await fetch(`${sim.url}/sim/push-config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url, token, encodingAesKey, mode, format }) })
  if (!res.ok) throw new Error(`push-config answered ${res.status}`)
  return { WECHAT_PUSH_TOKEN: token, WECHAT_PUSH_ENCODING_AES_KEY: encodingAesKey, WECHAT_PUSH_MODE: mode, WECHAT_PUSH_FORMAT: format }
}
