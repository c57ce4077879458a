import type { FastifyInstance } from 'fastify'
import { fileURLToPath } from 'node:url'
import { observedGauge, packageInfo } from '@wxmp/core'
import { serviceBase } from '@wxmp/service'
import { miniProgramClientFromConfig, shippingClientFromConfig, wechatPayClientFromConfig, xpayClientFromConfig, xpaySettingsFromConfig } from '@wxmp/wechat'
import type { Config } from './config.js'
import { Catalog } from './domain/catalog.js'
import { Checkout } from './domain/checkout.js'
import { PayParamsIssuer } from './domain/pay-params.js'
import { IdempotencyKeys } from './domain/idempotency.js'
import { Ledger } from './domain/ledger.js'
import { Settlement } from './domain/notifications.js'
import { OrderQueries } from './domain/orders.js'
import { Payers } from './domain/payers.js'
import { Reconciler } from './domain/reconciler.js'
import { Refunds } from './domain/refunds.js'
import { claimSeconds, Shipping } from './domain/shipping.js'
import { ShippingEvents } from './domain/shipping-events.js'
import { UserErasure } from './domain/user-erasure.js'
import { TradeManagement } from './domain/trade-management.js'
import { paymentEndpoints } from './handlers/payments.js'
import { VirtualCheckout } from './domain/virtual/checkout.js'
import { VirtualSettlement } from './domain/virtual/settlement.js'
import { AdminOrders } from './domain/admin-orders.js'
import { OrderClosing } from './domain/order-close.js'
import { RefundRequests } from './domain/refund-requests.js'
import { adminEndpoints } from './handlers/admin.js'

export const SERVICE = { name: 'payment', version: packageInfo(import.meta.url).version }
const migrationsDir = fileURLToPath(new URL('../src/db/migrations', import.meta.url))

declare module 'fastify' {
  interface FastifyInstance {
    /** The reconciler of this process; tests run a pass on demand with `runOnce()`. */
    reconciler: Reconciler
    /** Shipping reports and the calls staff make after them (notifyConfirmReceive), for tests and future routes. */
    shipping: Shipping
  }
}

/** The payment service: catalog, orders, WeChat Pay, notifications, refunds; served over NATS. */
export default async function app (fastify: FastifyInstance, opts: { config: Config }): Promise<void> {
  const { config } = opts
  // Key files are read and checked first: a bad one stops the boot naming its variable, before any connection.
  const log = fastify.log
  const wechat = wechatPayClientFromConfig(config, { log })
  const xpaySettings = xpaySettingsFromConfig(config)
  await fastify.register(serviceBase, { service: SERVICE, config, migrationsDir, useRedis: true, useOutbox: true })

  const pool = fastify.pg.pool
  const ledger = new Ledger(log)
  const keys = new IdempotencyKeys(config.IDEMPOTENCY_LEASE_SECONDS)
  const catalog = new Catalog(pool)
  // The server access_token through stable_token, cached in this service's Redis: several holders do not invalidate
  // each other's token.
  const miniProgram = miniProgramClientFromConfig(config, { redis: fastify.redis, log })
  const virtualCheckout = new VirtualCheckout({ pool, keys, nats: fastify.natsClient, settings: xpaySettings })
  const virtual = new VirtualSettlement({
    pool,
    ledger,
    xpay: xpaySettings === undefined ? undefined : xpayClientFromConfig(config, { miniProgram, appKey: xpaySettings.appKey, log }),
    settings: xpaySettings,
    log: log.child({ component: 'virtual-payment' })
  })
  if (xpaySettings === undefined) log.warn('virtual payment is not configured (XPAY_OFFER_ID, XPAY_APP_KEY_FILE): products on the virtual rail cannot be sold')
  const payers = new Payers(fastify.natsClient, config.WECHAT_APPID)
  const userErasure = new UserErasure({ pool, log: log.child({ component: 'user-erasure' }), forget: (userId) => { payers.forget(userId) } })
  const checkout = new Checkout({
    virtual: virtualCheckout,
    pool,
    payers,
    keys,
    wechat,
    closeAfterSeconds: config.ORDER_CLOSE_AFTER_SECONDS,
    reconcileAfterSeconds: config.RECONCILE_AFTER_SECONDS,
    leaseSeconds: config.IDEMPOTENCY_LEASE_SECONDS
  })
  const payParams = new PayParamsIssuer({ pool, wechat, prepayRenewAfterSeconds: config.PREPAY_RENEW_AFTER_SECONDS, virtual: virtualCheckout })
  const refunds = new Refunds({ pool, keys, ledger, wechat, virtual })
  const merchant = { appid: config.WECHAT_APPID, mchid: config.WECHATPAY_MCHID }
  const shippingClient = shippingClientFromConfig(config, { miniProgram, log })
  const shippingEvents = new ShippingEvents({ pool, ledger, log: log.child({ component: 'shipping-events' }), deadlineMarginHours: config.SHIPPING_OVERDUE_MARGIN_HOURS, virtual })
  const shipping = new Shipping({ pool, ledger, client: shippingClient, merchant, retryAfterSeconds: config.SHIPPING_RETRY_SECONDS, claimSeconds: claimSeconds(config.WECHAT_TIMEOUT_MS) })
  const settlement = new Settlement({
    pool,
    ledger,
    wechat,
    merchant,
    afterPaid: (orderId, plog, trace) => {
      void shipping.afterPaid(orderId, plog, trace).catch((err: unknown) => { plog.error({ err, orderId }, 'shipping report after payment failed; the reconciler retries it') })
    }
  })
  const reconciler = new Reconciler({ pool, wechat, ledger, settlement, refunds, keys, shipping, shippingEvents, virtual, log: fastify.log.child({ component: 'reconciler' }) }, {
    intervalMs: config.RECONCILE_INTERVAL_MS,
    afterSeconds: config.RECONCILE_AFTER_SECONDS,
    batch: config.RECONCILE_BATCH,
    keyTtlHours: config.IDEMPOTENCY_KEY_TTL_HOURS,
    shippingAfterSeconds: config.SHIPPING_REPORT_AFTER_SECONDS
  })
  fastify.decorate('reconciler', reconciler)
  fastify.decorate('shipping', shipping)

  const refundRequests = new RefundRequests({ pool, keys, ledger, refunds })
  const closing = new OrderClosing({ pool, ledger, wechat, settlement })
  fastify.natsServe(
    ...paymentEndpoints({ catalog, checkout, orders: new OrderQueries(pool), payParams, refundRequests, closing, settlement }),
    ...adminEndpoints({ adminOrders: new AdminOrders(pool), refundRequests, refunds, shipping, closing, stepUpMoneySeconds: config.STEP_UP_MONEY_S })
  )
  // Whether WeChat manages this mini-program's orders (发货信息管理): read at boot and reported (log line, gauge,
  // /readyz details), never blocking it or deciding readiness.
  const tradeManagement = new TradeManagement({
    client: shippingClient,
    appid: config.WECHAT_APPID,
    log: log.child({ component: 'trade-management' }),
    jumpPath: config.SHIPPING_MSG_JUMP_PATH,
    checkSeconds: config.TRADE_MANAGED_CHECK_SECONDS
  })
  observedGauge('payment_wechat_trade_managed', 'Whether WeChat order shipping management covers this mini-program (1), not (0), or is unknown (-1)', [], (g) => {
    g.set(tradeManagement.gauge)
  })
  fastify.readiness.detail('tradeManaged', () => tradeManagement.detail())
  fastify.addHook('onReady', async () => {
    reconciler.start()
    shippingEvents.start(fastify.nats, config.NATS_SUBJECT_PREFIX)
    userErasure.start(fastify.nats, config.NATS_SUBJECT_PREFIX)
    tradeManagement.start()
  })
  // Before the pool and NATS close: a pass in progress finishes its current order, and no new one starts.
  fastify.addHook('preClose', async () => {
    await reconciler.stop()
    await shippingEvents.stop()
    await userErasure.stop()
    await tradeManagement.stop()
  })
}
