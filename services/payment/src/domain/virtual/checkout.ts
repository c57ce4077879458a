import type { Pool } from 'pg'
import { businessCounter, type Log, type TraceContext } from '@wxmp/core'
import { Contracts, type CreatedOrder, type VirtualPayParams } from '@wxmp/contracts'
import type { NatsClient } from '@wxmp/nats'
import { buildSignData, VIRTUAL_PAYMENT_MODE, virtualPaySig } from '@wxmp/wechat'
import { PaymentErrors } from '../../errors.js'
import type { IdempotencyKeys, KeyRef } from '../idempotency.js'
import { toOrder, type OrderRow } from '../orders.js'

const signed = businessCounter('payment_virtual_pay_params_total', 'wx.requestVirtualPayment parameters issued, by outcome (signed, stale_session_key, failed)', ['outcome'] as const)

/** The virtual-payment merchant: its OfferId, AppKey (of `env`) and environment. */
export interface XpaySettings { offerId: string, appKey: string, env: 0 | 1 }

/**
 * The virtual rail's checkout: what wx.requestVirtualPayment takes for an order. signData names the order
 * (out_trade_no) and the product at its price; paySig is signed here with the AppKey; the user-state signature
 * comes from auth (`auth.signUserState`), which alone holds the session_key. Nothing is sent to WeChat: the phone's
 * payment creates the order there.
 */
export class VirtualCheckout {
  constructor (private readonly deps: {
    pool: Pool
    keys: IdempotencyKeys
    nats: NatsClient
    /** Undefined when virtual payment is not configured (XPAY_OFFER_ID, XPAY_APP_KEY_FILE). */
    settings: XpaySettings | undefined
  }) {}

  get settings (): XpaySettings | undefined {
    return this.deps.settings
  }

  /** Signs the parameters of an order now (a fresh user-state signature each time). */
  async params (order: OrderRow, trace: TraceContext): Promise<VirtualPayParams> {
    const settings = this.deps.settings
    if (settings === undefined) throw new PaymentErrors.VirtualPaymentUnavailable()
    const signData = buildSignData({
      offerId: settings.offerId,
      buyQuantity: order.quantity,
      env: settings.env,
      productId: order.product_id,
      goodsPrice: order.unit_price,
      outTradeNo: order.out_trade_no,
      attach: order.id
    })
    try {
      const { data } = await this.deps.nats.request(Contracts.auth.signUserState, { userId: order.user_id, data: signData }, trace)
      signed.inc({ outcome: 'signed' })
      return { mode: VIRTUAL_PAYMENT_MODE, signData, paySig: virtualPaySig(settings.appKey, signData), signature: data.signature }
    } catch (err) {
      signed.inc({ outcome: (err as { code?: string }).code === 'AUTH_SESSION_KEY_STALE' ? 'stale_session_key' : 'failed' })
      throw err
    }
  }

  /**
   * Checkout's last step for a virtual order: its parameters, stored as the key's answer (a replay returns the same
   * ones). When they cannot be made (a stale session_key, auth away) the key is released, like a failed prepay: the
   * client signs in again and retries with the same key, which carries on the same order.
   */
  async payable (ref: KeyRef, order: OrderRow, trace: TraceContext, log: Log): Promise<CreatedOrder> {
    let virtualPayment: VirtualPayParams
    try {
      virtualPayment = await this.params(order, trace)
    } catch (err) {
      log.warn({ orderId: order.id, outTradeNo: order.out_trade_no, code: (err as { code?: string }).code }, 'virtual payment parameters not made; the key is released for a retry')
      await this.deps.keys.release(this.deps.pool, ref).catch((e: unknown) => { log.warn({ err: e }, 'could not release the idempotency key') })
      throw err
    }
    const body: CreatedOrder = { ...toOrder(order), virtualPayment }
    await this.deps.keys.complete(this.deps.pool, ref, 201, body)
    log.info({ orderId: order.id, outTradeNo: order.out_trade_no, amount: order.amount, rail: 'virtual' }, 'order created')
    return body
  }
}
