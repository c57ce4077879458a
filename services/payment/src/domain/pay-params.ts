import type { Pool } from 'pg'
import { businessCounter, type Log, type TraceContext } from '@wxmp/core'
import type { CreatedOrder } from '@wxmp/contracts'
import type { WechatPayClient } from '@wxmp/wechat'
import { PaymentErrors } from '../errors.js'
import { MIN_PAYABLE_MS } from './checkout.js'
import { ORDER_COLUMNS, payerOpenid, toOrder, type OrderRow } from './orders.js'
import type { VirtualCheckout } from './virtual/checkout.js'

const issued = businessCounter('payment_pay_params_issued_total', 'Pay parameters handed out for an existing order, by how', ['how'] as const)

const MINE = `SELECT ${ORDER_COLUMNS}, prepaid_at FROM orders WHERE id = $1 AND user_id = $2`

// Only while unpaid: a notification settling the order meanwhile keeps its status, and the prepay is moot anyway.
const PREPAID_AGAIN = 'UPDATE orders SET prepay_id = $2, prepaid_at = now(), updated_at = now() WHERE id = $1 AND status = \'PENDING\''

export interface PayParamsDeps {
  pool: Pool
  wechat: WechatPayClient
  /** A prepay this old (or of unknown age) is placed again at WeChat Pay; a younger one is signed again. */
  prepayRenewAfterSeconds: number
  /** Virtual orders get freshly signed wx.requestVirtualPayment parameters instead. */
  virtual?: VirtualCheckout
}

/**
 * Pay parameters for an order that already exists: the buyer comes back to pay later, or the app lost the ones it
 * got at checkout. WeChat's prepay_id lives two hours, so an old prepay is placed again under the same out_trade_no
 * with the same description, amount, payer and time_expire (WeChat Pay accepts that while the order is unpaid); a
 * younger one is only signed again, with a new timeStamp and nonceStr.
 */
export class PayParamsIssuer {
  constructor (private readonly deps: PayParamsDeps) {}

  async issue (userId: string, orderId: string, log: Log, trace?: TraceContext): Promise<CreatedOrder> {
    const { pool, wechat } = this.deps
    const { rows } = await pool.query<OrderRow & { prepaid_at: Date | null }>(MINE, [orderId, userId])
    const order = rows[0]
    if (order === undefined) throw new PaymentErrors.OrderNotFound()
    if (order.status !== 'PENDING') throw new PaymentErrors.OrderNotPayable(order.status)
    if (order.expires_at.getTime() - Date.now() < MIN_PAYABLE_MS) throw new PaymentErrors.OrderNotPayable('expiring')

    if (order.rail === 'virtual' && this.deps.virtual !== undefined && trace !== undefined) {
      issued.inc({ how: 'virtual' })
      return { ...toOrder(order), virtualPayment: await this.deps.virtual.params(order, trace) }
    }
    const age = order.prepaid_at === null ? Infinity : Date.now() - order.prepaid_at.getTime()
    let prepayId = order.prepay_id
    if (prepayId === null || age >= this.deps.prepayRenewAfterSeconds * 1000) {
      ({ prepayId } = await wechat.jsapiPrepay({
        outTradeNo: order.out_trade_no,
        description: order.description,
        amountFen: order.amount,
        payerOpenid: payerOpenid(order),
        timeExpire: order.expires_at
      }))
      await pool.query(PREPAID_AGAIN, [order.id, prepayId])
      issued.inc({ how: 'prepaid' })
      log.info({ orderId: order.id, outTradeNo: order.out_trade_no }, 'prepay placed again for fresh pay parameters')
    } else {
      issued.inc({ how: 'resigned' })
    }
    return { ...toOrder(order), payParams: wechat.jsapiPayParams(prepayId) }
  }
}
