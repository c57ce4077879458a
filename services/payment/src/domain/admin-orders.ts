import type { Pool } from 'pg'
import type { AdminOrder, AdminOrderDetail, AdminOrderPage, AdminSearchOrdersRequest, OrderTransition } from '@wxmp/contracts'
import { PaymentErrors } from '../errors.js'
import { decodeCursor, encodeCursor, ORDER_COLUMNS, REFUND_COLUMNS, toOrder, toRefund, type OrderRow, type RefundRow } from './orders.js'
import { refundRequestsOf } from './refund-requests.js'

/** An order as staff see it: the buyer, the delivery and WeChat Pay's transaction id too (never the openid). */
export function toAdminOrder (row: OrderRow): AdminOrder {
  return { ...toOrder(row), userId: row.user_id, delivery: row.delivery, transactionId: row.transaction_id }
}

/** The staff's read side: every order, searched and paged, and one order with its whole history. */
export class AdminOrders {
  constructor (private readonly pool: Pool) {}

  /**
   * Newest first, filtered by any of status, buyer, out_trade_no and a creation time range [from, to); keyset paging
   * on (created_at, id) like the buyer's list, so pages neither skip nor repeat while orders arrive.
   */
  async search (q: AdminSearchOrdersRequest): Promise<AdminOrderPage> {
    const limit = q.limit ?? 20
    const params: unknown[] = []
    const where: string[] = []
    const add = (sql: (n: number) => string, value: unknown): void => { params.push(value); where.push(sql(params.length)) }
    if (q.status !== undefined) add((n) => `status = $${n}`, q.status)
    if (q.userId !== undefined) add((n) => `user_id = $${n}`, q.userId)
    if (q.outTradeNo !== undefined) add((n) => `out_trade_no = $${n}`, q.outTradeNo)
    if (q.from !== undefined) add((n) => `created_at >= $${n}::timestamptz`, q.from)
    if (q.to !== undefined) add((n) => `created_at < $${n}::timestamptz`, q.to)
    if (q.cursor !== undefined) {
      const after = decodeCursor(q.cursor)
      params.push(after.micros, after.id)
      where.push(`(created_at, id) < (timestamptz 'epoch' + $${params.length - 1}::bigint * interval '1 microsecond', $${params.length}::uuid)`)
    }
    params.push(limit + 1)
    const { rows } = await this.pool.query<OrderRow & { micros: string }>(
      `SELECT ${ORDER_COLUMNS}, (extract(epoch FROM created_at) * 1000000)::bigint AS micros
         FROM orders ${where.length === 0 ? '' : 'WHERE ' + where.join(' AND ')}
        ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params
    )
    const page = rows.slice(0, limit)
    const last = page.at(-1)
    return {
      orders: page.map(toAdminOrder),
      nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.micros, last.id) : null
    }
  }

  /** Any order with its transitions (oldest first), refunds and refund requests. */
  async detail (id: string): Promise<AdminOrderDetail> {
    const { rows } = await this.pool.query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1`, [id])
    const order = rows[0]
    if (order === undefined) throw new PaymentErrors.OrderNotFound()
    const [transitions, refunds, refundRequests] = await Promise.all([
      this.pool.query<{ from_status: OrderTransition['from'], to_status: OrderTransition['to'], cause: string, detail: Record<string, unknown> | null, created_at: Date }>(
        'SELECT from_status, to_status, cause, detail, created_at FROM order_transitions WHERE order_id = $1 ORDER BY id', [id]),
      this.pool.query<RefundRow>(`SELECT ${REFUND_COLUMNS} FROM refunds WHERE order_id = $1 ORDER BY created_at, id`, [id]),
      refundRequestsOf(this.pool, id)
    ])
    return {
      order: toAdminOrder(order),
      transitions: transitions.rows.map((r) => ({ from: r.from_status, to: r.to_status, cause: r.cause, detail: r.detail, at: r.created_at.toISOString() })),
      refunds: refunds.rows.map(toRefund),
      refundRequests
    }
  }
}
