import type { Pool } from 'pg'
import { businessCounter, withTransaction, type Log, type TraceContext } from '@wxmp/core'
import type { Order } from '@wxmp/contracts'
import { WechatErrors, type WechatPayClient } from '@wxmp/wechat'
import { PaymentErrors } from '../errors.js'
import type { Ledger } from './ledger.js'
import type { Settlement } from './notifications.js'
import { lockOrder, orderById, toOrder, type OrderRow } from './orders.js'
import { audit, type Actor } from './staff.js'

const closes = businessCounter('payment_orders_closed_on_request_total', 'Unpaid orders closed by their buyer or by staff, by who and outcome', ['by', 'outcome'] as const)

/** Who asks: the buyer of the order, or a staff member. */
export type Closer = { buyer: string } | { staff: Actor }

/**
 * Closing an unpaid order on request: the buyer cancelling their own (payment.cancelOrder) or staff closing any
 * (payment.admin.closeOrder). WeChat Pay closes it first, so it can no longer be paid there, and only then is it
 * CLOSED here; if WeChat Pay answers that it was just paid, the payment is recorded instead and the close refused.
 */
export class OrderClosing {
  constructor (private readonly deps: { pool: Pool, ledger: Ledger, wechat: WechatPayClient, settlement: Settlement }) {}

  async close (orderId: string, by: Closer, trace: TraceContext, log: Log): Promise<Order> {
    const { pool, ledger, wechat, settlement } = this.deps
    const who = 'buyer' in by ? 'buyer' : 'staff'
    const found = await orderById(pool, orderId)
    if (found === undefined || ('buyer' in by && found.user_id !== by.buyer)) throw new PaymentErrors.OrderNotFound()
    if (found.status === 'CLOSED') return toOrder(found)
    if (found.status !== 'PENDING') throw new PaymentErrors.OrderNotClosable(found.status)
    try {
      await wechat.closeOrder(found.out_trade_no)
    } catch (err) {
      if (err instanceof WechatErrors.PayOrderPaid) {
        // Paid a moment ago: the money is real, so the order becomes PAID and the close is refused.
        await settlement.payment(await wechat.queryByOutTradeNo(found.out_trade_no), 'reconciler', log, trace)
        closes.inc({ by: who, outcome: 'paid' })
        throw new PaymentErrors.OrderNotClosable('PAID')
      }
      // Never prepaid at WeChat Pay (its checkout call failed): nothing to close there.
      if (!(err instanceof WechatErrors.PayNotFound)) throw err
    }
    return await withTransaction(pool, async (client) => {
      const order = await lockOrder(client, { id: orderId }) as OrderRow
      const cause = 'buyer' in by ? 'cancelled_by_buyer' : 'closed_by_staff'
      const closed = await ledger.markClosed(client, order, cause, 'staff' in by ? { actorId: by.staff.userId } : undefined)
      if (closed && 'staff' in by) {
        await audit(client, 'order_closed', order.id, by.staff, { orderId: order.id, outTradeNo: order.out_trade_no }, trace)
      }
      // Closed at WeChat Pay, so a notification cannot have paid it since; CLOSED already is the same answer.
      if (!closed && order.status !== 'CLOSED') throw new PaymentErrors.OrderNotClosable(order.status)
      closes.inc({ by: who, outcome: closed ? 'closed' : 'already' })
      if (closed) log.info({ orderId, outTradeNo: order.out_trade_no, by: who }, 'order closed on request')
      return toOrder(order)
    })
  }
}
