import { readFileSync } from 'node:fs'
import { X509Certificate, type KeyObject } from 'node:crypto'
import { Type, type TProperties } from '@sinclair/typebox'
import { ConfigError } from '@wxmp/core'
import type { Redis } from 'ioredis'
import type { Log } from '@wxmp/core'
import { MiniProgramClient } from './mini-program/client.js'
import { WechatPayClient } from './pay/client.js'
import { toPrivateKey, toPublicKey } from './pay/crypto.js'
import { PushCodec } from './push/codec.js'
import { ShippingClient } from './shipping/client.js'
import { XpayClient } from './xpay/client.js'

/** Settings of the mini-program server APIs, for a service's config schema. */
export const wechatConfigProperties = {
  WECHAT_APPID: Type.String({ pattern: '^wx[0-9a-f]{16}$', description: 'The mini-program\'s AppID.' }),
  WECHAT_SECRET: Type.String({ minLength: 1, description: 'The mini-program\'s AppSecret.' }),
  WECHAT_API_BASE_URL: Type.String({ default: 'https://api.weixin.qq.com', pattern: '^https?://', description: 'WeChat API host; the simulator (http://127.0.0.1:9100) in development.' }),
  WECHAT_TIMEOUT_MS: Type.Integer({ default: 5000, minimum: 100, description: 'Deadline of one call to WeChat.' })
} satisfies TProperties

/** Settings of WeChat Pay API v3, for a service's config schema. */
export const wechatPayConfigProperties = {
  WECHATPAY_API_BASE_URL: Type.String({ default: 'https://api.mch.weixin.qq.com', pattern: '^https?://', description: 'WeChat Pay API host; the simulator in development.' }),
  WECHATPAY_MCHID: Type.String({ pattern: '^[0-9]{6,32}$', description: 'Merchant id.' }),
  WECHATPAY_MERCHANT_SERIAL_NO: Type.String({ pattern: '^[0-9A-Fa-f]{8,64}$', description: 'Serial number of the merchant API certificate.' }),
  WECHATPAY_MERCHANT_PRIVATE_KEY_FILE: Type.String({ minLength: 1, description: 'PEM (PKCS#8) private key of the merchant API certificate.' }),
  WECHATPAY_APIV3_KEY_FILE: Type.String({ minLength: 1, description: 'File holding the 32-character APIv3 key.' }),
  WECHATPAY_PUBLIC_KEYS: Type.String({ default: '', description: 'WeChat Pay public keys as PUB_KEY_ID_...=/path/public.pem, comma-separated (several during a migration).' }),
  WECHATPAY_PLATFORM_CERT_FILES: Type.String({ default: '', description: 'WeChat Pay platform certificates (PEM files), comma-separated; each is found by its serial number.' }),
  WECHATPAY_NOTIFY_URL: Type.String({ pattern: '^https?://', description: 'Public URL WeChat Pay posts payment and refund results to.' }),
  WECHATPAY_TIMEOUT_MS: Type.Integer({ default: 10000, minimum: 100, description: 'Deadline of one call to WeChat Pay.' })
} satisfies TProperties

/** Settings of the mini-program's message push (消息推送), for the config schema of the service that owns it. */
export const wechatPushConfigProperties = {
  WECHAT_PUSH_TOKEN: Type.String({ pattern: '^[A-Za-z0-9]{3,32}$', description: 'The message push Token set in the mini-program console.' }),
  WECHAT_PUSH_ENCODING_AES_KEY: Type.String({ default: '', pattern: '^([A-Za-z0-9+/]{43})?$', description: 'The 43-character EncodingAESKey; required in compatible and safe mode.' }),
  WECHAT_PUSH_MODE: Type.Union([Type.Literal('plain'), Type.Literal('compatible'), Type.Literal('safe')], { default: 'safe', description: 'Message encryption mode: plain (明文), compatible (兼容) or safe (安全).' }),
  WECHAT_PUSH_FORMAT: Type.Union([Type.Literal('json'), Type.Literal('xml')], { default: 'json', description: 'Data format of pushes, as set in the console.' }),
  WECHAT_PUSH_MAX_SKEW_SECONDS: Type.Integer({ default: 300, minimum: 1, description: 'Refuse pushes whose timestamp is further than this from now.' })
} satisfies TProperties

export interface WechatPushConfig {
  WECHAT_APPID: string
  WECHAT_PUSH_TOKEN: string
  WECHAT_PUSH_ENCODING_AES_KEY: string
  WECHAT_PUSH_MODE: 'plain' | 'compatible' | 'safe'
  WECHAT_PUSH_FORMAT: 'json' | 'xml'
  WECHAT_PUSH_MAX_SKEW_SECONDS: number
}

export interface WechatConfig {
  WECHAT_APPID: string
  WECHAT_SECRET: string
  WECHAT_API_BASE_URL: string
  WECHAT_TIMEOUT_MS: number
}

export interface WechatPayConfig {
  WECHAT_APPID: string
  WECHATPAY_API_BASE_URL: string
  WECHATPAY_MCHID: string
  WECHATPAY_MERCHANT_SERIAL_NO: string
  WECHATPAY_MERCHANT_PRIVATE_KEY_FILE: string
  WECHATPAY_APIV3_KEY_FILE: string
  WECHATPAY_PUBLIC_KEYS: string
  WECHATPAY_PLATFORM_CERT_FILES: string
  WECHATPAY_NOTIFY_URL: string
  WECHATPAY_TIMEOUT_MS: number
}

function read (variable: string, file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError([{ variable, problem: `names a file that cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` }])
  }
}

/** Parses `ID=/path,ID2=/path` into pairs. */
export function parseKeyList (spec: string): Array<{ id: string, file: string }> {
  return spec.split(',').map((s) => s.trim()).filter((s) => s !== '').map((entry) => {
    const i = entry.indexOf('=')
    if (i <= 0 || i === entry.length - 1) throw new ConfigError([{ variable: 'WECHATPAY_PUBLIC_KEYS', problem: `entry "${entry.slice(0, 40)}" must be PUB_KEY_ID_...=/path/to/key.pem` }])
    return { id: entry.slice(0, i).trim(), file: entry.slice(i + 1).trim() }
  })
}

/** The key material named by the config, read and parsed; a bad file fails with the variable's name. */
export function loadWechatPayKeys (config: WechatPayConfig): { merchantPrivateKey: KeyObject, apiV3Key: string, wechatpayPublicKeys: Map<string, KeyObject>, platformCertificates: X509Certificate[] } {
  const parse = <T>(variable: string, fn: () => T): T => {
    try { return fn() } catch (err) {
      if (err instanceof ConfigError) throw err
      throw new ConfigError([{ variable, problem: 'does not hold a valid key or certificate' }])
    }
  }
  const merchantPrivateKey = parse('WECHATPAY_MERCHANT_PRIVATE_KEY_FILE', () => toPrivateKey(read('WECHATPAY_MERCHANT_PRIVATE_KEY_FILE', config.WECHATPAY_MERCHANT_PRIVATE_KEY_FILE)))
  const apiV3Key = read('WECHATPAY_APIV3_KEY_FILE', config.WECHATPAY_APIV3_KEY_FILE).trim()
  if (Buffer.byteLength(apiV3Key, 'utf8') !== 32) throw new ConfigError([{ variable: 'WECHATPAY_APIV3_KEY_FILE', problem: 'must hold exactly 32 characters' }])
  const wechatpayPublicKeys = new Map<string, KeyObject>()
  for (const { id, file } of parseKeyList(config.WECHATPAY_PUBLIC_KEYS)) {
    wechatpayPublicKeys.set(id, parse('WECHATPAY_PUBLIC_KEYS', () => toPublicKey(read('WECHATPAY_PUBLIC_KEYS', file))))
  }
  const platformCertificates = config.WECHATPAY_PLATFORM_CERT_FILES.split(',').map((s) => s.trim()).filter((s) => s !== '')
    .map((file) => parse('WECHATPAY_PLATFORM_CERT_FILES', () => new X509Certificate(read('WECHATPAY_PLATFORM_CERT_FILES', file))))
  if (wechatpayPublicKeys.size === 0 && platformCertificates.length === 0) {
    throw new ConfigError([{ variable: 'WECHATPAY_PUBLIC_KEYS', problem: 'or WECHATPAY_PLATFORM_CERT_FILES must name at least one WeChat Pay key' }])
  }
  return { merchantPrivateKey, apiV3Key, wechatpayPublicKeys, platformCertificates }
}

/** The mini-program client of a service, from its config, its Redis client and its logger. */
export function miniProgramClientFromConfig (config: WechatConfig, deps: { redis: Redis, log: Log }): MiniProgramClient {
  return new MiniProgramClient({
    baseUrl: config.WECHAT_API_BASE_URL,
    appid: config.WECHAT_APPID,
    secret: config.WECHAT_SECRET,
    redis: deps.redis,
    log: deps.log,
    timeoutMs: config.WECHAT_TIMEOUT_MS
  })
}

/** The WeChat Pay client of a service, from its config (key files read once, here) and its logger. */
export function wechatPayClientFromConfig (config: WechatPayConfig, deps: { log: Log }): WechatPayClient {
  const keys = loadWechatPayKeys(config)
  return new WechatPayClient({
    baseUrl: config.WECHATPAY_API_BASE_URL,
    mchid: config.WECHATPAY_MCHID,
    appid: config.WECHAT_APPID,
    merchantSerialNo: config.WECHATPAY_MERCHANT_SERIAL_NO,
    merchantPrivateKey: keys.merchantPrivateKey,
    apiV3Key: keys.apiV3Key,
    wechatpayPublicKeys: keys.wechatpayPublicKeys,
    platformCertificates: keys.platformCertificates,
    notifyUrl: config.WECHATPAY_NOTIFY_URL,
    log: deps.log,
    timeoutMs: config.WECHATPAY_TIMEOUT_MS
  })
}

/** The message push codec of the service that owns the push URL; a missing key fails with the variable's name. */
export function pushCodecFromConfig (config: WechatPushConfig): PushCodec {
  if (config.WECHAT_PUSH_MODE !== 'plain' && config.WECHAT_PUSH_ENCODING_AES_KEY === '') {
    throw new ConfigError([{ variable: 'WECHAT_PUSH_ENCODING_AES_KEY', problem: `is required when WECHAT_PUSH_MODE is ${config.WECHAT_PUSH_MODE}` }])
  }
  return new PushCodec({
    token: config.WECHAT_PUSH_TOKEN,
    appid: config.WECHAT_APPID,
    ...(config.WECHAT_PUSH_ENCODING_AES_KEY === '' ? {} : { encodingAesKey: config.WECHAT_PUSH_ENCODING_AES_KEY }),
    mode: config.WECHAT_PUSH_MODE,
    format: config.WECHAT_PUSH_FORMAT,
    maxSkewSeconds: config.WECHAT_PUSH_MAX_SKEW_SECONDS
  })
}

/** The shipping management client of a service, sharing the mini-program client's access_token cache. */
export function shippingClientFromConfig (config: WechatConfig, deps: { miniProgram: MiniProgramClient, log: Log }): ShippingClient {
  return new ShippingClient({
    baseUrl: config.WECHAT_API_BASE_URL,
    accessTokens: deps.miniProgram.accessTokens,
    log: deps.log,
    timeoutMs: config.WECHAT_TIMEOUT_MS
  })
}

/** Settings of WeChat's virtual payment (小程序虚拟支付), for the config schema of the service that sells virtual goods. */
export const xpayConfigProperties = {
  XPAY_OFFER_ID: Type.String({ default: '', pattern: '^[0-9A-Za-z_-]{0,64}$', description: 'The virtual-payment OfferId (支付应用 ID); empty: virtual goods cannot be sold.' }),
  XPAY_APP_KEY_FILE: Type.String({ default: '', description: 'File holding the AppKey of XPAY_ENV (现网 or 沙箱 AppKey): signs paySig and every /xpay API call.' }),
  XPAY_ENV: Type.Integer({ minimum: 0, maximum: 1, default: 0, description: 'Virtual-payment environment: 0 production (现网), 1 sandbox (沙箱).' })
} satisfies TProperties

export interface XpayConfig {
  XPAY_OFFER_ID: string
  XPAY_APP_KEY_FILE: string
  XPAY_ENV: number
}

/** The virtual-payment settings read and checked, or undefined when they are not configured. */
export function xpaySettingsFromConfig (config: XpayConfig): { offerId: string, appKey: string, env: 0 | 1 } | undefined {
  if (config.XPAY_OFFER_ID === '' && config.XPAY_APP_KEY_FILE === '') return undefined
  if (config.XPAY_OFFER_ID === '') throw new ConfigError([{ variable: 'XPAY_OFFER_ID', problem: 'is required when XPAY_APP_KEY_FILE is set' }])
  if (config.XPAY_APP_KEY_FILE === '') throw new ConfigError([{ variable: 'XPAY_APP_KEY_FILE', problem: 'is required when XPAY_OFFER_ID is set' }])
  const appKey = read('XPAY_APP_KEY_FILE', config.XPAY_APP_KEY_FILE).trim()
  if (appKey.length < 8) throw new ConfigError([{ variable: 'XPAY_APP_KEY_FILE', problem: 'must hold the AppKey (at least 8 characters)' }])
  return { offerId: config.XPAY_OFFER_ID, appKey, env: config.XPAY_ENV === 1 ? 1 : 0 }
}

/** The virtual-payment server API client, sharing the mini-program client's access_token cache. */
export function xpayClientFromConfig (config: WechatConfig, deps: { miniProgram: MiniProgramClient, appKey: string, log: Log }): XpayClient {
  return new XpayClient({
    baseUrl: config.WECHAT_API_BASE_URL,
    accessTokens: deps.miniProgram.accessTokens,
    appKey: deps.appKey,
    log: deps.log,
    timeoutMs: config.WECHAT_TIMEOUT_MS
  })
}
