import type { Pool } from 'pg'
import type { Logger } from 'pino'
import { businessCounter, type TraceContext } from '@wxmp/core'
import type { CreatedOrder, CreateOrderReply, CreateOrderRequest } from '@wxmp/contracts'
import type { WechatPayClient } from '@wxmp/wechat'
import { PaymentErrors } from '../errors.js'
import type { Catalog } from './catalog.js'
import { inTransaction } from './db.js'
import { replay, type IdempotencyKeys, type KeyRef } from './idempotency.js'
import { newOutTradeNo, requestHash } from './ids.js'
import type { Ledger } from './ledger.js'
import { ORDER_COLUMNS, orderById, toOrder, type OrderRow } from './orders.js'
import type { Payers } from './payers.js'

const orders = businessCounter('payment_orders_created_total', 'Order creation requests by outcome', ['outcome'] as const)

/** WeChat Pay's amount.total is a 32-bit integer of fen. */
const MAX_FEN = 2_147_483_647
/** Below this much payable time left, a prepay would hand out pay parameters that expire in the payer's hands. */
const MIN_PAYABLE_MS = 60_000

/** WeChat Pay's description is at most 127 bytes of UTF-8. */
function describe (name: string, quantity: number): string {
  let text = quantity > 1 ? `${name} ×${quantity}` : name
  while (Buffer.byteLength(text, 'utf8') > 127) text = text.slice(0, -1)
  return text
}

export interface CheckoutDeps {
  pool: Pool
  catalog: Catalog
  payers: Payers
  keys: IdempotencyKeys
  ledger: Ledger
  wechat: WechatPayClient
  /** How long an order stays payable (WeChat Pay's time_expire). */
  closeAfterSeconds: number
  /** When the reconciler first looks at an order no notification has settled. */
  reconcileAfterSeconds: number
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

  async create (userId: string, input: CreateOrderRequest, trace: TraceContext, log: Logger): Promise<CreateOrderReply> {
    const { pool, keys, ledger, wechat } = this.deps
    const product = await this.deps.catalog.get(input.productId)
    if (product === undefined) throw new PaymentErrors.ProductNotFound()
    const amount = product.price * input.quantity
    if (!Number.isSafeInteger(amount) || amount > MAX_FEN) throw new PaymentErrors.AmountTooLarge()
    const openid = await this.deps.payers.openidOf(userId, trace)
    const ref: KeyRef = { userId, key: input.idempotencyKey }

    const claimed = await inTransaction(pool, async (client) => {
      const claim = await keys.claim(client, ref, requestHash(['createOrder', input.productId, input.quantity]))
      if (claim.kind === 'done') return claim
      if (claim.kind === 'resume') {
        const order = claim.orderId === null ? undefined : await orderById(client, claim.orderId)
        if (order === undefined) throw new Error(`idempotency key without its order (user ${userId})`)
        return { kind: 'resume' as const, order }
      }
      const { rows } = await client.query<OrderRow>(
        `INSERT INTO orders (user_id, out_trade_no, product_id, quantity, unit_price, amount, description, payer_openid, expires_at, next_check_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, date_trunc('second', now()) + make_interval(secs => $9), now() + make_interval(secs => $10))
         RETURNING ${ORDER_COLUMNS}`,
        [userId, newOutTradeNo(), product.id, input.quantity, product.price, amount, describe(product.name, input.quantity), openid,
          this.deps.closeAfterSeconds, Math.min(this.deps.reconcileAfterSeconds, this.deps.closeAfterSeconds)]
      )
      const order = rows[0] as OrderRow
      await ledger.created(client, order, 'checkout')
      await keys.link(client, ref, { orderId: order.id })
      return { kind: 'new' as const, order }
    })
    if (claimed.kind === 'done') {
      orders.inc({ outcome: 'replayed' })
      return { replayed: true, order: replay<CreatedOrder>(claimed) }
    }
    const { order } = claimed
    if (claimed.kind === 'resume') log.info({ orderId: order.id, outTradeNo: order.out_trade_no }, 'resuming an order with its idempotency key')

    if (order.status !== 'PENDING' || order.expires_at.getTime() - Date.now() < MIN_PAYABLE_MS) {
      const err = new PaymentErrors.OrderNotPayable(order.status === 'PENDING' ? 'expiring' : order.status)
      await keys.completeWithError(pool, ref, err)
      throw err
    }

    let prepayId: string
    try {
      ({ prepayId } = await wechat.jsapiPrepay({
        outTradeNo: order.out_trade_no,
        description: order.description,
        amountFen: order.amount,
        payerOpenid: order.payer_openid,
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
    await inTransaction(pool, async (client) => {
      await client.query('UPDATE orders SET prepay_id = $2, updated_at = now() WHERE id = $1', [order.id, prepayId])
      await keys.complete(client, ref, 201, body)
    })
    orders.inc({ outcome: claimed.kind === 'new' ? 'created' : 'resumed' })
    log.info({ orderId: order.id, outTradeNo: order.out_trade_no, amount: order.amount }, 'order created')
    return { replayed: false, order: body }
  }
}
