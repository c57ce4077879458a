import type { Pool, PoolClient } from 'pg'
import type { Delivery, Order, OrderPage, OrderStatus, Rail, Refund, RefundStatus } from '@wxmp/contracts'
import { PaymentErrors } from '../errors.js'

/** A query runs on the pool or inside the caller's transaction. */
type Db = Pool | PoolClient

export interface OrderRow {
  id: string
  user_id: string
  out_trade_no: string
  product_id: string
  quantity: number
  unit_price: number
  amount: number
  description: string
  /** Null once the payer deleted their account (and no report to WeChat still needs it). */
  payer_openid: string | null
  status: OrderStatus
  delivery: Delivery
  rail: Rail
  prepay_id: string | null
  transaction_id: string | null
  refunded_amount: number
  expires_at: Date
  paid_at: Date | null
  closed_at: Date | null
  created_at: Date
}

export interface RefundRow {
  id: string
  order_id: string
  out_refund_no: string
  amount: number
  reason: string | null
  status: RefundStatus
  refund_id: string | null
  created_at: Date
  settled_at: Date | null
}

export const ORDER_COLUMNS = 'id, user_id, out_trade_no, product_id, quantity, unit_price, amount, description, payer_openid, status, delivery, rail, prepay_id, transaction_id, refunded_amount, expires_at, paid_at, closed_at, created_at'
export const REFUND_COLUMNS = 'id, order_id, out_refund_no, amount, reason, status, refund_id, created_at, settled_at'

/** The payer openid of an order WeChat Pay is asked to charge; an erased payer cannot be charged again. */
export function payerOpenid (order: Pick<OrderRow, 'payer_openid'>): string {
  if (order.payer_openid === null) throw new PaymentErrors.PayerUnknown()
  return order.payer_openid
}

const iso = (d: Date | null): string | null => d === null ? null : d.toISOString()

/** An order as its owner sees it: no openid, no prepay_id. */
export function toOrder (row: OrderRow): Order {
  return {
    id: row.id,
    outTradeNo: row.out_trade_no,
    status: row.status,
    amount: row.amount,
    refundedAmount: row.refunded_amount,
    currency: 'CNY',
    productId: row.product_id,
    quantity: row.quantity,
    description: row.description,
    rail: row.rail,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    paidAt: iso(row.paid_at),
    closedAt: iso(row.closed_at)
  }
}

export function toRefund (row: RefundRow): Refund {
  return {
    id: row.id,
    orderId: row.order_id,
    outRefundNo: row.out_refund_no,
    amount: row.amount,
    reason: row.reason,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    settledAt: iso(row.settled_at)
  }
}

/** Locks an order row for the rest of the transaction: every change to an order's money happens behind this lock. */
export async function lockOrder (db: Db, where: { id: string } | { outTradeNo: string }): Promise<OrderRow | undefined> {
  const [column, value] = 'id' in where ? ['id', where.id] : ['out_trade_no', where.outTradeNo]
  const { rows } = await db.query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE ${column} = $1 FOR UPDATE`, [value])
  return rows[0]
}

export async function orderById (db: Db, id: string): Promise<OrderRow | undefined> {
  const { rows } = await db.query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1`, [id])
  return rows[0]
}

// The cursor is the last row's (created_at in microseconds, id): exact, so no row is skipped or repeated between pages.
export function encodeCursor (micros: string, id: string): string {
  return Buffer.from(`${micros}:${id}`, 'utf8').toString('base64url')
}

export function decodeCursor (cursor: string): { micros: string, id: string } {
  const m = /^(\d{1,20}):([0-9a-f-]{36})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
  if (m === null) throw new PaymentErrors.CursorInvalid()
  return { micros: m[1] as string, id: m[2] as string }
}

/** Read side of orders: always scoped to the owner, so someone else's order is indistinguishable from none. */
export class OrderQueries {
  constructor (private readonly db: Db) {}

  async get (userId: string, id: string): Promise<Order> {
    const { rows } = await this.db.query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1 AND user_id = $2`, [id, userId])
    if (rows[0] === undefined) throw new PaymentErrors.OrderNotFound()
    return toOrder(rows[0])
  }

  /** Newest first; `cursor` is the previous page's nextCursor. */
  async list (userId: string, limit: number, cursor?: string): Promise<OrderPage> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor)
    const params: unknown[] = [userId, limit + 1]
    let where = 'user_id = $1'
    if (after !== undefined) {
      params.push(after.micros, after.id)
      where += " AND (created_at, id) < (timestamptz 'epoch' + $3::bigint * interval '1 microsecond', $4::uuid)"
    }
    const { rows } = await this.db.query<OrderRow & { micros: string }>(
      `SELECT ${ORDER_COLUMNS}, (extract(epoch FROM created_at) * 1000000)::bigint AS micros
         FROM orders WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $2`,
      params
    )
    const page = rows.slice(0, limit)
    const last = page.at(-1)
    return {
      orders: page.map(toOrder),
      nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.micros, last.id) : null
    }
  }
}
