import { randomUUID } from 'node:crypto'
import type { Pool } from 'pg'
import { businessCounter, withTransaction, type Log, type TraceContext } from '@wxmp/core'
import type { CreatedOrder, CreateOrderReply, CreateOrderRequest } from '@wxmp/contracts'
import type { WechatPayClient } from '@wxmp/wechat'
import { PaymentErrors } from '../errors.js'
import { replay, type IdempotencyKeys, type KeyRef } from './idempotency.js'
import { newOutTradeNo, requestHash } from './ids.js'
import { countTransition } from './ledger.js'
import { ORDER_COLUMNS, orderById, payerOpenid, toOrder, type OrderRow } from './orders.js'
import type { Payers } from './payers.js'
import type { VirtualCheckout } from './virtual/checkout.js'

const orders = businessCounter('payment_orders_created_total', 'Order creation requests by outcome', ['outcome'] as const)

/** Below this much payable time left, a prepay would hand out pay parameters that expire in the payer's hands. */
export const MIN_PAYABLE_MS = 60_000

// Both statements of an order are prepared once per pooled connection (named below): planning FIRST_USE again for
// every order cost Postgres about as much CPU as running both.

/**
 * A key's first use in one statement (one round trip, one commit): the product's price read, the key claimed with
 * its lease, the order and its first transition written, or nothing at all. The amount is computed here, in integer
 * fen, and must fit WeChat Pay's 32-bit amount.total.
 */
const FIRST_USE = `
WITH product AS (
  SELECT id, name, price, delivery, rail, price::bigint * $5::int <= 2147483647 AS fits FROM products WHERE id = $4 AND active
), claim AS (
  INSERT INTO idempotency_keys (user_id, key, request_hash, state, locked_until, order_id)
  SELECT $1, $2, $3, 'open', now() + make_interval(secs => $9), $6::uuid FROM product WHERE fits
  ON CONFLICT (user_id, key) DO NOTHING
  RETURNING order_id
), placed AS (
  INSERT INTO orders (id, user_id, out_trade_no, product_id, quantity, unit_price, amount, description, payer_openid, expires_at, next_check_at, delivery, rail)
  SELECT claim.order_id, $1, $7, p.id, $5::int, p.price, p.price * $5::int,
         CASE WHEN $5::int > 1 THEN p.name || ' ×' || $5::int ELSE p.name END,
         $8, date_trunc('second', now()) + make_interval(secs => $10), now() + make_interval(secs => $11), p.delivery, p.rail
    FROM product p, claim
  RETURNING ${ORDER_COLUMNS}
), recorded AS (
  INSERT INTO order_transitions (order_id, from_status, to_status, cause) SELECT id, NULL, 'PENDING', 'checkout' FROM placed
)
SELECT product.fits, placed.* FROM product LEFT JOIN placed ON true`

/** The prepay's result and the key's stored answer, in one statement. */
const PREPAID = `
WITH prepaid AS (UPDATE orders SET prepay_id = $3, prepaid_at = now(), updated_at = now() WHERE id = $4)
UPDATE idempotency_keys SET state = 'done', locked_until = NULL, response_status = 201, response_body = $5, updated_at = now()
 WHERE user_id = $1 AND key = $2`

export interface CheckoutDeps {
  pool: Pool
  payers: Payers
  keys: IdempotencyKeys
  wechat: WechatPayClient
  /** How long an order stays payable (WeChat Pay's time_expire). */
  closeAfterSeconds: number
  /** When the reconciler first looks at an order no notification has settled. */
  reconcileAfterSeconds: number
  /** The lease a request holds on its key while it runs. */
  leaseSeconds: number
  /** The virtual rail (wx.requestVirtualPayment) for products sold through WeChat's virtual payment. */
  virtual: VirtualCheckout
}

/**
 * Order creation: the amount from the catalog, one order per Idempotency-Key, and a JSAPI prepay for it.
 *
 * The key and the order are written in one transaction before WeChat Pay is called; the prepay runs outside any
 * transaction. If it fails, the key is released and a retry with it prepays the same order again: same
 * out_trade_no, description, amount, payer and time_expire, which WeChat Pay answers with the same prepay_id.
 */
export class Checkout {
  constructor (private readonly deps: CheckoutDeps) {}

  async create (userId: string, input: CreateOrderRequest, trace: TraceContext, log: Log): Promise<CreateOrderReply> {
    const { pool, keys, wechat } = this.deps
    const openid = await this.deps.payers.openidOf(userId, trace)
    const ref: KeyRef = { userId, key: input.idempotencyKey }
    const hash = requestHash(['createOrder', input.productId, input.quantity])

    const { rows } = await pool.query<OrderRow & { fits: boolean }>({ name: 'checkout-first-use', text: FIRST_USE }, [
      userId, ref.key, hash, input.productId, input.quantity, randomUUID(), newOutTradeNo(), openid,
      this.deps.leaseSeconds, this.deps.closeAfterSeconds, Math.min(this.deps.reconcileAfterSeconds, this.deps.closeAfterSeconds)
    ])
    const first = rows[0]
    if (first === undefined) throw new PaymentErrors.ProductNotFound()
    if (!first.fits) throw new PaymentErrors.AmountTooLarge()

    let order: OrderRow
    let resumed = false
    if (first.id !== null) {
      countTransition(null, 'PENDING', 'checkout')
      order = first
    } else {
      // The key was used before: its stored answer, 409 while it runs, 422 for another body, or carry the order on.
      const claimed = await withTransaction(pool, async (client) => {
        const claim = await keys.claim(client, ref, hash)
        if (claim.kind === 'done') return claim
        const found = claim.kind === 'resume' && claim.orderId !== null ? await orderById(client, claim.orderId) : undefined
        // A key forgotten between the two statements: the next attempt is a first use again.
        if (found === undefined) throw new PaymentErrors.IdempotencyKeyInUse()
        return { kind: 'resume' as const, order: found }
      })
      if (claimed.kind === 'done') {
        orders.inc({ outcome: 'replayed' })
        return { replayed: true, order: replay<CreatedOrder>(claimed) }
      }
      order = claimed.order
      resumed = true
      log.info({ orderId: order.id, outTradeNo: order.out_trade_no }, 'resuming an order with its idempotency key')
    }

    if (order.status !== 'PENDING' || order.expires_at.getTime() - Date.now() < MIN_PAYABLE_MS) {
      const err = new PaymentErrors.OrderNotPayable(order.status === 'PENDING' ? 'expiring' : order.status)
      await keys.completeWithError(pool, ref, err)
      throw err
    }

    // The virtual rail has no prepay: the phone's wx.requestVirtualPayment creates the order at WeChat.
    if (order.rail === 'virtual') {
      const body = await this.deps.virtual.payable(ref, order, trace, log)
      orders.inc({ outcome: resumed ? 'resumed' : 'created' })
      return { replayed: false, order: body }
    }

    let prepayId: string
    try {
      ({ prepayId } = await wechat.jsapiPrepay({
        outTradeNo: order.out_trade_no,
        description: order.description,
        amountFen: order.amount,
        payerOpenid: payerOpenid(order),
        timeExpire: order.expires_at
      }))
    } catch (err) {
      orders.inc({ outcome: 'prepay_failed' })
      log.warn({ orderId: order.id, outTradeNo: order.out_trade_no, code: (err as { code?: string }).code }, 'prepay failed; the key is released for a retry')
      // If this fails too the lease runs out on its own, with the same effect a little later.
      await keys.release(pool, ref).catch((e: unknown) => { log.warn({ err: e }, 'could not release the idempotency key') })
      throw err
    }

    const body: CreatedOrder = { ...toOrder(order), payParams: wechat.jsapiPayParams(prepayId) }
    await pool.query({ name: 'checkout-prepaid', text: PREPAID }, [ref.userId, ref.key, prepayId, order.id, JSON.stringify(body)])
    orders.inc({ outcome: resumed ? 'resumed' : 'created' })
    log.info({ orderId: order.id, outTradeNo: order.out_trade_no, amount: order.amount }, 'order created')
    return { replayed: false, order: body }
  }
}
