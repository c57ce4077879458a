import type { FastifyInstance } from 'fastify'
import { fileURLToPath } from 'node:url'
import { packageInfo } from '@wxmp/core'
import { serviceBase } from '@wxmp/service'
import { wechatPayClientFromConfig } from '@wxmp/wechat'
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
import { paymentEndpoints } from './handlers/payments.js'

export const SERVICE = { name: 'payment', version: packageInfo(import.meta.url).version }
const migrationsDir = fileURLToPath(new URL('../src/db/migrations', import.meta.url))

declare module 'fastify' {
  interface FastifyInstance {
    /** The reconciler of this process; tests run a pass on demand with `runOnce()`. */
    reconciler: Reconciler
  }
}

/** The payment service: catalog, orders, WeChat Pay, notifications, refunds; served over NATS. */
export default async function app (fastify: FastifyInstance, opts: { config: Config }): Promise<void> {
  const { config } = opts
  // Key files are read and checked first: a bad one stops the boot naming its variable, before any connection.
  const log = fastify.log
  const wechat = wechatPayClientFromConfig(config, { log })
  await fastify.register(serviceBase, { service: SERVICE, config, migrationsDir, useRedis: false, useOutbox: true })

  const pool = fastify.pg.pool
  const ledger = new Ledger(log)
  const keys = new IdempotencyKeys(config.IDEMPOTENCY_LEASE_SECONDS)
  const catalog = new Catalog(pool)
  const checkout = new Checkout({
    pool,
    payers: new Payers(fastify.natsClient, config.WECHAT_APPID),
    keys,
    wechat,
    closeAfterSeconds: config.ORDER_CLOSE_AFTER_SECONDS,
    reconcileAfterSeconds: config.RECONCILE_AFTER_SECONDS,
    leaseSeconds: config.IDEMPOTENCY_LEASE_SECONDS
  })
  const payParams = new PayParamsIssuer({ pool, wechat, prepayRenewAfterSeconds: config.PREPAY_RENEW_AFTER_SECONDS })
  const refunds = new Refunds({ pool, keys, ledger, wechat })
  const settlement = new Settlement({ pool, ledger, wechat, merchant: { appid: config.WECHAT_APPID, mchid: config.WECHATPAY_MCHID } })
  const reconciler = new Reconciler({ pool, wechat, ledger, settlement, refunds, keys, log: fastify.log.child({ component: 'reconciler' }) }, {
    intervalMs: config.RECONCILE_INTERVAL_MS,
    afterSeconds: config.RECONCILE_AFTER_SECONDS,
    batch: config.RECONCILE_BATCH,
    keyTtlHours: config.IDEMPOTENCY_KEY_TTL_HOURS
  })
  fastify.decorate('reconciler', reconciler)

  fastify.natsServe(...paymentEndpoints({ catalog, checkout, orders: new OrderQueries(pool), payParams, refunds, settlement }))
  fastify.addHook('onReady', async () => { reconciler.start() })
  // Before the pool and NATS close: a pass in progress finishes its current order, and no new one starts.
  fastify.addHook('preClose', async () => { await reconciler.stop() })
}
