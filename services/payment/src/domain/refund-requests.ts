import type { Pool, PoolClient } from 'pg'
import { businessCounter, withTransaction, type Log, type TraceContext } from '@wxmp/core'
import type { CreateRefundRequest, RefundDecision, RefundRequest, RefundRequestReply } from '@wxmp/contracts'
import { PaymentErrors } from '../errors.js'
import { replay, type IdempotencyKeys, type KeyRef } from './idempotency.js'
import { newOutRefundNo, requestHash } from './ids.js'
import type { Ledger } from './ledger.js'
import { lockOrder, ORDER_COLUMNS, toOrder, type OrderRow } from './orders.js'
import { lockRefund, type Refunds } from './refunds.js'
import { audit, type Actor } from './staff.js'

const decisions = businessCounter('payment_refund_requests_total', 'Buyers\' refund requests and staff decisions', ['outcome'] as const)

/** Orders a buyer may ask a refund of: paid, or partly refunded with money left. */
const REQUESTABLE = new Set(['PAID', 'PARTIALLY_REFUNDED'])

interface RequestRow {
  id: string
  order_id: string
  user_id: string
  amount: number
  reason: string
  status: 'REQUESTED' | 'APPROVED' | 'DECLINED'
  previous_status: 'PAID' | 'PARTIALLY_REFUNDED'
  decided_by: string | null
  decided_at: Date | null
  decline_reason: string | null
  refund_id: string | null
  created_at: Date
}

const COLUMNS = 'id, order_id, user_id, amount, reason, status, previous_status, decided_by, decided_at, decline_reason, refund_id, created_at'

export function toRefundRequest (row: RequestRow): RefundRequest {
  return {
    id: row.id,
    orderId: row.order_id,
    amount: row.amount,
    reason: row.reason,
    status: row.status,
    declineReason: row.decline_reason,
    refundId: row.refund_id,
    createdAt: row.created_at.toISOString(),
    decidedAt: row.decided_at === null ? null : row.decided_at.toISOString()
  }
}

/** Every refund request of an order, oldest first. */
export async function refundRequestsOf (db: Pool | PoolClient, orderId: string): Promise<RefundRequest[]> {
  const { rows } = await db.query<RequestRow>(`SELECT ${COLUMNS} FROM refund_requests WHERE order_id = $1 ORDER BY created_at, id`, [orderId])
  return rows.map(toRefundRequest)
}

/** What is left to refund: the amount less every refund that did or may still succeed. */
async function leftToRefund (client: PoolClient, order: OrderRow): Promise<number> {
  const { rows } = await client.query<{ committed: number }>(
    "SELECT COALESCE(sum(amount), 0)::int AS committed FROM refunds WHERE order_id = $1 AND status IN ('PROCESSING', 'SUCCESS', 'ABNORMAL')",
    [order.id]
  )
  return order.amount - (rows[0]?.committed ?? 0)
}

export interface RefundRequestsDeps {
  pool: Pool
  keys: IdempotencyKeys
  ledger: Ledger
  refunds: Refunds
}

/**
 * Buyers ask, the merchant decides. A request moves the order to REFUND_REQUESTED (nothing is sent to WeChat Pay);
 * staff approve it (a refund is opened under a new out_refund_no and sent: REFUNDING) or decline it with a reason
 * (back to PAID or PARTIALLY_REFUNDED). Every step runs with the order row locked, and each decision writes its
 * events.admin.* audit event in the same transaction.
 */
export class RefundRequests {
  constructor (private readonly deps: RefundRequestsDeps) {}

  /** payment.requestRefund: the buyer's own paid order only (anyone else's is a 404), with an Idempotency-Key. */
  async create (userId: string, input: CreateRefundRequest, trace: TraceContext, log: Log): Promise<RefundRequestReply> {
    const { pool, keys, ledger } = this.deps
    const ref: KeyRef = { userId, key: input.idempotencyKey }
    const result = await withTransaction(pool, async (client) => {
      const order = await lockOrder(client, { id: input.orderId })
      if (order === undefined || order.user_id !== userId) throw new PaymentErrors.OrderNotFound()
      const claim = await keys.claim(client, ref, requestHash(['refund-request', input.orderId, input.amount, input.reason]))
      // The answer is stored in this same transaction, so a key is never left open here.
      if (claim.kind === 'done') return claim
      if (claim.kind === 'resume') throw new Error(`refund request key left open (user ${userId})`)
      // Refusals roll the key back with everything else: nothing was done, so nothing is remembered.
      if (order.status === 'REFUND_REQUESTED') throw new PaymentErrors.RefundRequestOpen()
      if (!REQUESTABLE.has(order.status)) throw new PaymentErrors.OrderNotRefundable(order.status)
      const left = await leftToRefund(client, order)
      if (input.amount > left) throw new PaymentErrors.RefundExceedsPaid(left)
      const { rows } = await client.query<RequestRow>(
        `INSERT INTO refund_requests (order_id, user_id, amount, reason, previous_status) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
        [order.id, userId, input.amount, input.reason, order.status]
      )
      const request = rows[0] as RequestRow
      const { rows: updated } = await client.query<OrderRow>(
        "UPDATE orders SET status = 'REFUND_REQUESTED', updated_at = now() WHERE id = $1 AND status = $2 RETURNING status",
        [order.id, order.status]
      )
      if (updated[0] === undefined) throw new Error(`order ${order.id} changed under its lock`)
      await ledger.record(client, order.id, order.status, 'REFUND_REQUESTED', 'refund_request', { requestId: request.id, amount: input.amount })
      order.status = 'REFUND_REQUESTED'
      const body = { request: toRefundRequest(request), order: toOrder(order) }
      await keys.complete(client, ref, 201, body)
      return { kind: 'new' as const, body }
    })
    if (result.kind === 'done') return { replayed: true, ...replay<Omit<RefundRequestReply, 'replayed'>>(result) }
    decisions.inc({ outcome: 'requested' })
    log.info({ orderId: input.orderId, requestId: result.body.request.id, amount: input.amount }, 'refund requested by the buyer; waiting for the merchant')
    return { replayed: false, ...result.body }
  }

  private async lockRequest (client: PoolClient, requestId: string): Promise<{ request: RequestRow, order: OrderRow }> {
    // The order first, as everywhere: the request's order id is fixed, so reading it unlocked is safe.
    const { rows: found } = await client.query<{ order_id: string }>('SELECT order_id FROM refund_requests WHERE id = $1', [requestId])
    if (found[0] === undefined) throw new PaymentErrors.RefundRequestNotFound()
    const order = await lockOrder(client, { id: found[0].order_id }) as OrderRow
    const { rows } = await client.query<RequestRow>(`SELECT ${COLUMNS} FROM refund_requests WHERE id = $1 FOR UPDATE`, [requestId])
    return { request: rows[0] as RequestRow, order }
  }

  /**
   * payment.admin.approveRefund: opens the refund the buyer asked for and sends it to WeChat Pay. Approving again
   * changes nothing and sends nothing new; if the refund is still processing it asks WeChat Pay again under the same
   * out_refund_no (which can only ever refund once), so a retry after a timeout is safe.
   */
  async approve (actor: Actor, requestId: string, trace: TraceContext, log: Log): Promise<RefundDecision> {
    const { pool, ledger, refunds } = this.deps
    const opened = await withTransaction(pool, async (client) => {
      const { request, order } = await this.lockRequest(client, requestId)
      if (request.status === 'DECLINED') throw new PaymentErrors.RefundRequestDecided('declined')
      if (request.status === 'APPROVED') {
        return { request, order, refund: await lockRefund(client, request.refund_id as string), first: false }
      }
      const left = await leftToRefund(client, order)
      if (request.amount > left) throw new PaymentErrors.RefundExceedsPaid(left)
      const refund = await ledger.openRefund(client, order, { outRefundNo: newOutRefundNo(), amount: request.amount, reason: request.reason }, 'refund_approved')
      const { rows } = await client.query<RequestRow>(
        `UPDATE refund_requests SET status = 'APPROVED', decided_by = $2, decided_at = now(), refund_id = $3, updated_at = now()
          WHERE id = $1 AND status = 'REQUESTED' RETURNING ${COLUMNS}`,
        [request.id, actor.userId, refund.id]
      )
      await audit(client, 'refund_approved', request.id, actor, {
        orderId: order.id, outTradeNo: order.out_trade_no, amount: request.amount, refundRequestId: request.id, outRefundNo: refund.out_refund_no
      }, trace)
      return { request: rows[0] as RequestRow, order, refund, first: true }
    })
    if (opened.first) {
      decisions.inc({ outcome: 'approved' })
      log.info({ orderId: opened.order.id, requestId, actorId: actor.userId, amount: opened.request.amount }, 'refund request approved')
    }
    const sent = await refunds.send(null, opened.order, opened.refund, trace, log)
    return { request: toRefundRequest(opened.request), order: sent.order, refund: sent.refund }
  }

  /** payment.admin.declineRefund: the order goes back to where it was, with the staff's reason recorded. */
  async decline (actor: Actor, requestId: string, reason: string, trace: TraceContext, log: Log): Promise<RefundDecision> {
    const { pool, ledger } = this.deps
    return await withTransaction(pool, async (client) => {
      const { request, order } = await this.lockRequest(client, requestId)
      if (request.status === 'APPROVED') throw new PaymentErrors.RefundRequestDecided('approved')
      if (request.status === 'DECLINED') {
        // Declining again is the same decision: the first answer, nothing new recorded.
        return { request: toRefundRequest(request), order: toOrder(order), refund: null }
      }
      const { rows } = await client.query<RequestRow>(
        `UPDATE refund_requests SET status = 'DECLINED', decided_by = $2, decided_at = now(), decline_reason = $3, updated_at = now()
          WHERE id = $1 AND status = 'REQUESTED' RETURNING ${COLUMNS}`,
        [request.id, actor.userId, reason]
      )
      const { rows: updated } = await client.query<OrderRow>(
        "UPDATE orders SET status = $2, updated_at = now() WHERE id = $1 AND status = 'REFUND_REQUESTED' RETURNING status",
        [order.id, request.previous_status]
      )
      if (updated[0] === undefined) throw new Error(`order ${order.id} is ${order.status} while its refund request ${request.id} is open`)
      await ledger.record(client, order.id, 'REFUND_REQUESTED', request.previous_status, 'refund_declined', { requestId: request.id, reason })
      order.status = request.previous_status
      // A virtual order's automatic report can reach the platform while the request waits (it only moves a PAID
      // order to SHIPPED); once the order is PAID again, it catches up.
      const { rows: shipped } = await client.query<{ t: number }>("SELECT logistics_type AS t FROM shipments WHERE order_id = $1 AND state = 'reported'", [order.id])
      if (shipped[0] !== undefined && order.status === 'PAID') {
        const { rows: full } = await client.query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1`, [order.id])
        const row = full[0] as OrderRow
        if (await ledger.markShipped(client, row, shipped[0].t, 'shipping:reported_while_refund_requested', trace)) Object.assign(order, row)
      }
      await audit(client, 'refund_declined', request.id, actor, {
        orderId: order.id, outTradeNo: order.out_trade_no, amount: request.amount, refundRequestId: request.id, reason
      }, trace)
      decisions.inc({ outcome: 'declined' })
      log.info({ orderId: order.id, requestId, actorId: actor.userId }, 'refund request declined')
      return { request: toRefundRequest(rows[0] as RequestRow), order: toOrder(order), refund: null }
    })
  }
}
