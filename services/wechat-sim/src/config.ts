import { Type, type Static } from '@sinclair/typebox'
import { baseConfigProperties } from '@wxmp/core'

// WeChat Pay's notification retry schedule after a failed delivery.
export const WECHAT_NOTIFY_SCHEDULE = '15s,15s,30s,3m,10m,20m,30m,30m,30m,60m,3h,3h,3h,6h,6h'

/** Every setting of the simulator, read from the environment; see README.md. */
export const ConfigSchema = Type.Object({
  // Loopback by default: its test API (/sim/*) forges logins and payments for anyone who can reach it.
  HOST: Type.String({ default: '127.0.0.1', description: 'Interface the simulator listens on; 0.0.0.0 only where it runs in its own container.' }),
  PORT: Type.Integer({ default: 9100, minimum: 0, maximum: 65535, description: 'Port of the simulated WeChat hosts and the test API.' }),
  LOG_LEVEL: baseConfigProperties.LOG_LEVEL,
  LOG_PRETTY: baseConfigProperties.LOG_PRETTY,
  SHUTDOWN_GRACE_MS: baseConfigProperties.SHUTDOWN_GRACE_MS,

  WECHAT_APPID: Type.String({ minLength: 1, description: 'The only AppID the simulator accepts.' }),
  WECHAT_SECRET: Type.String({ minLength: 1, description: 'The AppSecret that goes with it.' }),
  WECHATPAY_MCHID: Type.String({ minLength: 1, description: 'The merchant the simulator serves.' }),
  WECHATPAY_MERCHANT_SERIAL_NO: Type.String({ minLength: 1, description: 'Serial number the merchant must sign requests under.' }),
  WECHATPAY_APIV3_KEY_FILE: Type.String({ minLength: 1, description: 'The merchant\'s APIv3 key, which encrypts notification resources.' }),
  SIM_MERCHANT_PUBLIC_KEY_FILE: Type.String({ minLength: 1, description: 'Public key that verifies the merchant\'s request signatures.' }),
  SIM_WECHATPAY_PRIVATE_KEY_FILE: Type.String({ minLength: 1, description: 'Private key the simulator signs responses and notifications with, as WeChat Pay.' }),
  SIM_WECHATPAY_PUBLIC_KEY_ID: Type.String({ pattern: '^PUB_KEY_ID_', description: 'The Wechatpay-Serial of that key (public-key mode).' }),
  SIM_NOTIFY_CA_FILE: Type.String({ default: '', description: 'Extra CA (PEM) trusted when delivering notifications over HTTPS, e.g. the gateway\'s self-signed certificate.' }),

  SIM_CODE_TTL_SECONDS: Type.Integer({ default: 300, minimum: 1, description: 'Lifetime of wx.login and getPhoneNumber codes (WeChat: 5 minutes).' }),
  SIM_ACCESS_TOKEN_TTL_SECONDS: Type.Integer({ default: 7200, minimum: 301, description: 'Lifetime of an access_token (WeChat: 7200 s).' }),
  SIM_SIGNATURE_WINDOW_SECONDS: Type.Integer({ default: 300, minimum: 1, description: 'Largest accepted age of a merchant request timestamp.' }),
  SIM_NOTIFY_SCHEDULE: Type.String({ default: WECHAT_NOTIFY_SCHEDULE, pattern: '^\\s*\\d+(ms|s|m|h)?(\\s*,\\s*\\d+(ms|s|m|h)?)*\\s*$', description: 'Delays between notification attempts after a failure (units ms, s, m, h; bare numbers are ms).' }),
  SIM_NOTIFY_SCHEDULE_SCALE: Type.Number({ default: 1, exclusiveMinimum: 0, description: 'Multiplier on every delay of the schedule; 0.001 turns 15 s into 15 ms for tests.' }),
  SIM_NOTIFY_TIMEOUT_MS: Type.Integer({ default: 5000, minimum: 10, description: 'How long one delivery attempt waits for the merchant.' }),
  SIM_PREPAY_TTL_SECONDS: Type.Integer({ default: 7200, minimum: 1, description: 'How long a prepay_id opens the payment sheet (WeChat: 2 hours); the same order placed again after that gets a new one.' }),
  SIM_REFUND_SETTLE_MS: Type.Integer({ default: 1000, minimum: -1, description: 'Time until a refund succeeds on its own; -1 leaves it PROCESSING until POST /sim/refund.' }),
  SIM_REFUND_NOTIFY_URL: Type.String({ default: '', description: 'Refund notification URL for refunds that name none (the merchant platform setting); the order\'s notify_url when empty.' }),

  SIM_XPAY_OFFER_ID: Type.String({ default: '1450000000', pattern: '^[0-9A-Za-z_-]{1,64}$', description: 'The virtual-payment OfferId the simulator serves.' }),
  SIM_XPAY_APP_KEY: Type.String({ default: 'wxmp-dev-xpay-appkey', minLength: 8, description: 'The virtual-payment AppKey: checks paySig and every /xpay call\'s pay_sig.' }),
  SIM_PUSH_URL: Type.String({ default: '', description: 'The merchant\'s message push URL (消息推送); PUT /sim/push-config changes it at run time. Empty: pushes are dropped.' }),
  SIM_PUSH_TOKEN: Type.String({ default: 'wxmpdevpushtoken', pattern: '^[A-Za-z0-9]{3,32}$', description: 'The push Token set in the console.' }),
  SIM_PUSH_ENCODING_AES_KEY: Type.String({ default: '', pattern: '^([A-Za-z0-9+/]{43})?$', description: 'The 43-character EncodingAESKey; required in compatible and safe mode.' }),
  SIM_PUSH_MODE: Type.Union([Type.Literal('plain'), Type.Literal('compatible'), Type.Literal('safe')], { default: 'plain', description: 'Message encryption mode: plain (明文), compatible (兼容) or safe (安全).' }),
  SIM_PUSH_FORMAT: Type.Union([Type.Literal('json'), Type.Literal('xml')], { default: 'json', description: 'Data format of pushes.' }),
  SIM_PUSH_SCHEDULE: Type.String({ default: '0,0,0', pattern: '^\\s*\\d+(ms|s|m|h)?(\\s*,\\s*\\d+(ms|s|m|h)?)*\\s*$', description: 'Delays between push attempts after a failure (scaled by SIM_NOTIFY_SCHEDULE_SCALE); WeChat retries three times, right after a failed or 5-second attempt.' }),
  SIM_TRADE_MANAGED: Type.Boolean({ default: true, description: 'What is_trade_managed answers: the app is under order shipping management.' }),
  SIM_VIRTUAL_AUTO_CONFIRM_MS: Type.Integer({ default: 1000, minimum: -1, description: 'Time after a virtual-goods upload (logistics_type 3) until the platform confirms receipt on its own; -1 never.' }),
  SIM_AUTO_CONFIRM_MS: Type.Integer({ default: -1, minimum: -1, description: 'Time after any other upload until the platform confirms receipt on its own; -1 waits for POST /sim/confirm-receipt.' }),
  SIM_SETTLEMENT_DELAY_MS: Type.Integer({ default: 1000, minimum: -1, description: 'Time from confirmed receipt to settlement; -1 waits for POST /sim/settle.' }),
  SIM_REMIND_SHIPPING_MS: Type.Integer({ default: -1, minimum: -1, description: 'Time after payment until an unshipped payment gets trade_manage_remind_shipping; -1 only on POST /sim/remind-shipping.' })
})

export type Config = Static<typeof ConfigSchema>
