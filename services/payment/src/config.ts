import { Type, type Static } from '@sinclair/typebox'
import { stepUpConfigProperties } from '@wxmp/core'
import { serviceConfigSchema } from '@wxmp/service'
import { wechatConfigProperties, wechatPayConfigProperties, xpayConfigProperties } from '@wxmp/wechat'

/** Every setting of the payment service, read from the environment; see README.md for each variable. */
export const ConfigSchema = serviceConfigSchema({
  port: 9093,
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/wxmp_payment',
  redisKeyPrefix: 'wxmp:payment:'
}, {
  // The server API (shipping management) needs the mini-program's credentials and host too.
  ...wechatConfigProperties,
  ...wechatPayConfigProperties,
  // WeChat's virtual payment, for products on the virtual rail.
  ...xpayConfigProperties,
  ORDER_CLOSE_AFTER_SECONDS: Type.Integer({
    default: 1800,
    minimum: 120,
    maximum: 7 * 24 * 3600,
    description: 'An unpaid order stops being payable after this (sent to WeChat Pay as time_expire) and is then closed.'
  }),
  PREPAY_RENEW_AFTER_SECONDS: Type.Integer({
    default: 6600,
    minimum: 0,
    maximum: 7200,
    description: 'Pay parameters asked for an unpaid order whose prepay is this old come from a new prepay (WeChat\'s prepay_id lives 2 hours); a younger prepay is signed again.'
  }),
  RECONCILE_INTERVAL_MS: Type.Integer({ default: 30_000, minimum: 50, description: 'How often the reconciler looks for orders and refunds that WeChat Pay has not told us about.' }),
  RECONCILE_AFTER_SECONDS: Type.Integer({
    default: 120,
    minimum: 0,
    description: 'A pending order (or refund) is queried at WeChat Pay once its notification is this late.'
  }),
  RECONCILE_BATCH: Type.Integer({ default: 100, minimum: 1, maximum: 1000, description: 'Orders and refunds looked at per reconciler pass.' }),
  SHIPPING_REPORT_AFTER_SECONDS: Type.Integer({
    default: 180,
    minimum: 0,
    description: 'A paid virtual order not reported to WeChat\'s shipping management this long after payment is reported by the reconciler.'
  }),
  SHIPPING_RETRY_SECONDS: Type.Integer({ default: 30, minimum: 0, description: 'Wait before a shipping report that failed (or whose answer is unknown) is tried again.' }),
  SHIPPING_OVERDUE_MARGIN_HOURS: Type.Integer({
    default: 12,
    minimum: 1,
    maximum: 47,
    description: 'events.payment.shipping_overdue is written this long before a paid physical order\'s 48 h shipping deadline.'
  }),
  SHIPPING_MSG_JUMP_PATH: Type.String({
    default: '',
    pattern: '^([A-Za-z0-9_./-]{1,512})?$',
    description: 'The mini-program page WeChat\'s shipping and settlement messages open (set_msg_jump_path, e.g. pages/order/detail); WeChat appends transaction_id, merchant_id and merchant_trade_no, so no query string. Empty: not set.'
  }),
  TRADE_MANAGED_CHECK_SECONDS: Type.Integer({
    default: 3600,
    minimum: 1,
    description: 'How often is_trade_managed is read again (WeChat may bring the mini-program under shipping management later); while unknown, at most every minute.'
  }),
  // The second check of staff money actions (approving refund requests, merchant refunds, closing orders), as at the edge.
  STEP_UP_MONEY_S: stepUpConfigProperties.STEP_UP_MONEY_S,
  IDEMPOTENCY_KEY_TTL_HOURS: Type.Integer({ default: 24, minimum: 24, description: 'How long an Idempotency-Key and its stored response are kept.' }),
  IDEMPOTENCY_LEASE_SECONDS: Type.Integer({
    default: 60,
    minimum: 5,
    description: 'How long a request holds its key before another request with the key may take over (a crashed first attempt).'
  })
})

export type Config = Static<typeof ConfigSchema>
