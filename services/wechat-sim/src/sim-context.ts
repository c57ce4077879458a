import { readFileSync } from 'node:fs'
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { ConfigError } from '@wxmp/core'
import type { Config } from './config.js'
import { Faults } from './domain/faults.js'
import { MiniProgramState } from './domain/mini-program.js'
import { Notifier, parseSchedule } from './domain/notifier.js'
import { PayState, type RefundRecord } from './domain/pay.js'
import type { SimKeys } from './domain/signing.js'
import { Stats } from './domain/stats.js'
import { Pusher } from './domain/pusher.js'
import { ShippingState } from './domain/shipping.js'
import { ShippingPlatform } from './domain/shipping-platform.js'
import { XpayState } from './domain/xpay.js'

/** Everything the simulator knows, shared by its routes. */
export interface SimContext {
  config: Config
  keys: SimKeys
  mp: MiniProgramState
  pay: PayState
  faults: Faults
  stats: Stats
  notifier: Notifier
  /** Message pushes to the merchant's push URL. */
  pusher: Pusher
  /** Order shipping management: uploads, confirmation, settlement. */
  shipping: ShippingPlatform
  /** Virtual payment (小程序虚拟支付): orders paid with wx.requestVirtualPayment, their pushes and refunds. */
  xpay: XpayState
  /** Runs `fn` after `ms`, unless the simulator closes first. */
  later: (ms: number, fn: () => void) => void
  /** Settles a refund and sends its REFUND.* notification. */
  settleRefund: (outRefundNo: string, status: 'SUCCESS' | 'CLOSED' | 'ABNORMAL') => { refund: RefundRecord, notificationId: string } | undefined
  close: () => void
}

declare module 'fastify' {
  interface FastifyInstance {
    sim: SimContext
  }
}

function readVar (config: Config, variable: keyof Config): string {
  try {
    return readFileSync(String(config[variable]), 'utf8')
  } catch (err) {
    throw new ConfigError([{ variable, problem: `names a file that cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` }])
  }
}

function loadKeys (config: Config): SimKeys {
  const key = <T>(variable: keyof Config, parse: (pem: string) => T): T => {
    const pem = readVar(config, variable)
    try { return parse(pem) } catch { throw new ConfigError([{ variable, problem: 'does not hold a valid PEM key' }]) }
  }
  const apiV3Key = Buffer.from(readVar(config, 'WECHATPAY_APIV3_KEY_FILE').trim(), 'utf8')
  if (apiV3Key.length !== 32) throw new ConfigError([{ variable: 'WECHATPAY_APIV3_KEY_FILE', problem: 'must hold exactly 32 characters' }])
  return {
    wechatpayPrivateKey: key('SIM_WECHATPAY_PRIVATE_KEY_FILE', createPrivateKey),
    wechatpayKeyId: config.SIM_WECHATPAY_PUBLIC_KEY_ID,
    merchantPublicKey: key('SIM_MERCHANT_PUBLIC_KEY_FILE', createPublicKey),
    merchantSerialNo: config.WECHATPAY_MERCHANT_SERIAL_NO,
    mchid: config.WECHATPAY_MCHID,
    apiV3Key
  }
}

export function createSimContext (config: Config, log: FastifyBaseLogger): SimContext {
  if (config.SIM_PUSH_MODE !== 'plain' && config.SIM_PUSH_ENCODING_AES_KEY === '') {
    throw new ConfigError([{ variable: 'SIM_PUSH_ENCODING_AES_KEY', problem: `is required when SIM_PUSH_MODE is ${config.SIM_PUSH_MODE}` }])
  }
  const keys = loadKeys(config)
  const faults = new Faults()
  const timers = new Set<NodeJS.Timeout>()
  let closed = false
  const notifier = new Notifier({
    keys,
    schedule: parseSchedule(config.SIM_NOTIFY_SCHEDULE, config.SIM_NOTIFY_SCHEDULE_SCALE),
    timeoutMs: config.SIM_NOTIFY_TIMEOUT_MS,
    extraCa: config.SIM_NOTIFY_CA_FILE === '' ? '' : readVar(config, 'SIM_NOTIFY_CA_FILE'),
    faults,
    log
  })
  const mp = new MiniProgramState({ codeTtlMs: config.SIM_CODE_TTL_SECONDS * 1000, tokenTtlMs: config.SIM_ACCESS_TOKEN_TTL_SECONDS * 1000 })
  const pay = new PayState({ appid: config.WECHAT_APPID, mchid: config.WECHATPAY_MCHID, prepayTtlMs: config.SIM_PREPAY_TTL_SECONDS * 1000 })
  const later = (ms: number, fn: () => void): void => {
    if (closed) return
    const t = setTimeout(() => { timers.delete(t); fn() }, ms)
    timers.add(t)
  }
  const sweeper = setInterval(() => mp.sweep(), 60_000)
  sweeper.unref()
  const pusher = new Pusher({
    url: config.SIM_PUSH_URL,
    token: config.SIM_PUSH_TOKEN,
    encodingAesKey: config.SIM_PUSH_ENCODING_AES_KEY,
    mode: config.SIM_PUSH_MODE,
    format: config.SIM_PUSH_FORMAT
  }, {
    appid: config.WECHAT_APPID,
    schedule: parseSchedule(config.SIM_PUSH_SCHEDULE, config.SIM_NOTIFY_SCHEDULE_SCALE),
    timeoutMs: config.SIM_NOTIFY_TIMEOUT_MS,
    extraCa: config.SIM_NOTIFY_CA_FILE === '' ? '' : readVar(config, 'SIM_NOTIFY_CA_FILE'),
    faults,
    log
  })
  const originalId = 'gh_' + createHash('sha256').update(config.WECHAT_APPID).digest('hex').slice(0, 12)
  const shipping = new ShippingPlatform(new ShippingState(pay, { mchid: config.WECHATPAY_MCHID }), pusher, { config, originalId, later })
  const xpay = new XpayState({ offerId: config.SIM_XPAY_OFFER_ID, appKey: config.SIM_XPAY_APP_KEY, mp, pusher, originalId, later, refundSettleMs: config.SIM_REFUND_SETTLE_MS })
  const summaries = { SUCCESS: '退款成功', CLOSED: '退款关闭', ABNORMAL: '退款异常' }
  return {
    config,
    keys,
    mp,
    pay,
    faults,
    stats: new Stats(),
    notifier,
    pusher,
    shipping,
    xpay,
    later,
    settleRefund (outRefundNo, status) {
      const refund = pay.settleRefund(outRefundNo, status)
      if (refund === undefined) return undefined
      const delivery = notifier.notify({
        url: refund.notifyUrl,
        eventType: `REFUND.${status}`,
        summary: summaries[status],
        originalType: 'refund',
        subject: refund.outRefundNo,
        resource: PayState.refundNotice(refund, keys.mchid)
      })
      return { refund, notificationId: delivery.id }
    },
    close () {
      closed = true
      clearInterval(sweeper)
      for (const t of timers) clearTimeout(t)
      notifier.close()
      pusher.close()
    }
  }
}
