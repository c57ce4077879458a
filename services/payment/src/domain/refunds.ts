import type { Pool, PoolClient } from 'pg'
import { businessCounter, withTransaction, type Log, type TraceContext } from '@wxmp/core'
import type { RefundOrderReply, RefundOrderRequest } from '@wxmp/contracts'
import { WechatErrors, type Refund as WechatRefund, type WechatPayClient } from '@wxmp/wechat'
import { PaymentErrors } from '../errors.js'
import { replay, type IdempotencyKeys, type KeyRef } from './idempotency.js'
import { newOutRefundNo, requestHash } from './ids.js'
import type { Ledger } from './ledger.js'
import type { VirtualSettlement } from './virtual/settlement.js'
import { lockOrder, REFUND_COLUMNS, toOrder, toRefund, type OrderRow, type RefundRow } from './orders.js'
import { audit, type Actor } from './staff.js'

const refundRequests = businessCounter('payment_refunds_requested_total', 'Refund requests by outcome', ['outcome'] as const)

const REFUNDABLE = new Set(['PAID', 'PARTIALLY_REFUNDED', 'REFUNDING'])

/**
 * WeChat Pay answers that mean this refund will never happen, whatever is retried. Anything else (busy, timed out,
 * rate limited, balance too low for now, an unverifiable answer) leaves the outcome unknown or only delayed: the
 * refund stays PROCESSING under its out_refund_no, and a retry or the reconciler asks again with the same number.
 */
function isFinalRefusal (err: unknown): boolean {
  return err instanceof WechatErrors.PayBadRequest || err instanceof WechatErrors.PayRejected ||
    err instanceof WechatErrors.PayOrderClosed || err instanceof WechatErrors.PayNotFound
}

export async function lockRefund (client: PoolClient, id: string): Promise<RefundRow> {
  const { rows } = await client.query<RefundRow>(`SELECT ${REFUND_COLUMNS} FROM refunds WHERE id = $1 FOR UPDATE`, [id])
  if (rows[0] === undefined) throw new Error(`refund ${id} not found`)
  return rows[0]
}

export interface RefundsDeps {
  pool: Pool
  keys: IdempotencyKeys
  ledger: Ledger
  wechat: WechatPayClient
  /** Refunds of virtual orders go through WeChat's virtual payment (refund_order). */
  virtual?: VirtualSettlement
}

/**
 * Refunds of paid orders, partial or whole, never more than was paid: the order row is locked while the new refund
 * is checked against the refunds before it, so concurrent requests are counted one after the other.
 */
export class Refunds {
  constructor (private readonly deps: RefundsDeps) {}

  /**
   * A refund on the merchant's initiative (payment.admin.refundOrder): any order, by a staff member whose
   * Idempotency-Keys are their own, audited as events.admin.refund_issued in the transaction that opens it.
   */
  async request (actor: Actor, input: RefundOrderRequest, trace: TraceContext, log: Log): Promise<RefundOrderReply> {
    const { pool, keys, ledger } = this.deps
    const ref: KeyRef = { userId: actor.userId, key: input.idempotencyKey }
    const claimed = await withTransaction(pool, async (client) => {
      const order = await lockOrder(client, { id: input.orderId })
      if (order === undefined) throw new PaymentErrors.OrderNotFound()
      const claim = await keys.claim(client, ref, requestHash(['refund', input.orderId, input.amount, input.reason ?? null]))
      if (claim.kind === 'done') return claim
      if (claim.kind === 'resume') {
        if (claim.refundId === null) throw new Error(`idempotency key without its refund (user ${actor.userId})`)
        return { kind: 'resume' as const, order, refund: await lockRefund(client, claim.refundId) }
      }
      // Refusals here roll the key back with everything else: nothing was done, so nothing is remembered.
      if (!REFUNDABLE.has(order.status)) throw new PaymentErrors.OrderNotRefundable(order.status)
      const { rows } = await client.query<{ committed: number }>(
        "SELECT COALESCE(sum(amount), 0)::int AS committed FROM refunds WHERE order_id = $1 AND status IN ('PROCESSING', 'SUCCESS', 'ABNORMAL')",
        [order.id]
      )
      const left = order.amount - (rows[0]?.committed ?? 0)
      if (input.amount > left) throw new PaymentErrors.RefundExceedsPaid(left)
      const refund = await ledger.openRefund(client, order, { outRefundNo: newOutRefundNo(), amount: input.amount, reason: input.reason ?? null }, 'refund_issued')
      await keys.link(client, ref, { refundId: refund.id })
      await audit(client, 'refund_issued', refund.id, actor, {
        orderId: order.id, outTradeNo: order.out_trade_no, amount: refund.amount, outRefundNo: refund.out_refund_no, ...(input.reason === undefined ? {} : { reason: input.reason })
      }, trace)
      return { kind: 'new' as const, order, refund }
    })
    if (claimed.kind === 'done') {
      refundRequests.inc({ outcome: 'replayed' })
      return { replayed: true, ...replay<Omit<RefundOrderReply, 'replayed'>>(claimed) }
    }
    return { replayed: false, ...await this.send(ref, claimed.order, claimed.refund, trace, log) }
  }

  /**
   * Sends an open refund to WeChat Pay and records the answer (with `ref`, as the Idempotency-Key's stored answer).
   * A refund already settled (by a notification or the reconciler) is answered with where it ended.
   */
  async send (ref: KeyRef | null, order: OrderRow, refund: RefundRow, trace: TraceContext, log: Log): Promise<{ refund: ReturnType<typeof toRefund>, order: ReturnType<typeof toOrder> }> {
    const { pool, keys } = this.deps
    if (refund.status !== 'PROCESSING') {
      const body = { refund: toRefund(refund), order: toOrder(order) }
      if (ref !== null) await keys.complete(pool, ref, 201, body)
      return body
    }
    let result: WechatRefund
    try {
      result = await this.apply(order, refund)
    } catch (err) {
      if (isFinalRefusal(err)) {
        refundRequests.inc({ outcome: 'refused' })
        log.warn({ orderId: order.id, outRefundNo: refund.out_refund_no, code: (err as { code?: string }).code }, 'WeChat Pay refused the refund')
        await this.settle(ref, order.id, refund.id, 'FAILED', 'refund_refused', {}, trace, err)
      } else {
        refundRequests.inc({ outcome: 'pending' })
        log.warn({ orderId: order.id, outRefundNo: refund.out_refund_no, code: (err as { code?: string }).code }, 'refund not confirmed by WeChat Pay; it stays processing and is retried with the same out_refund_no')
        if (ref !== null) await keys.release(pool, ref).catch((e: unknown) => { log.warn({ err: e }, 'could not release the idempotency key') })
      }
      throw err
    }
    const body = await this.applied(ref, order.id, refund.id, result, 'refund_applied', trace)
    refundRequests.inc({ outcome: 'applied' })
    log.info({ orderId: order.id, outRefundNo: refund.out_refund_no, amount: refund.amount, status: body.refund.status }, 'refund applied')
    return body
  }

  /** Asks WeChat Pay for the refund; the same out_refund_no always means the same refund there. */
  async apply (order: OrderRow, refund: RefundRow): Promise<WechatRefund> {
    if (order.rail === 'virtual' && this.deps.virtual !== undefined) {
      const { rows } = await this.deps.pool.query<{ committed: number }>(
        "SELECT COALESCE(sum(amount), 0)::int AS committed FROM refunds WHERE order_id = $1 AND id <> $2 AND status IN ('PROCESSING', 'SUCCESS', 'ABNORMAL')",
        [order.id, refund.id]
      )
      return await this.deps.virtual.refund(order, refund, order.amount - (rows[0]?.committed ?? 0))
    }
    return await this.deps.wechat.refund({
      outTradeNo: order.out_trade_no,
      outRefundNo: refund.out_refund_no,
      refundFen: refund.amount,
      totalFen: order.amount,
      ...(refund.reason === null ? {} : { reason: refund.reason })
    })
  }

  /**
   * Records what WeChat Pay answered for a refund (an apply or a query): its refund_id, and its outcome when final.
   * With `ref`, the request's answer is stored with it.
   */
  async applied (ref: KeyRef | null, orderId: string, refundId: string, result: WechatRefund, cause: string, trace?: TraceContext): Promise<{ refund: ReturnType<typeof toRefund>, order: ReturnType<typeof toOrder> }> {
    const outcome = result.status === 'PROCESSING' ? undefined : result.status
    return await this.settle(ref, orderId, refundId, outcome, cause, { refundId: result.refund_id, ...(result.success_time === undefined ? {} : { successTime: result.success_time }) }, trace)
  }

  /** Settles a refund in one transaction (order locked first), optionally storing the request's answer or error. */
  async settle (ref: KeyRef | null, orderId: string, refundId: string, outcome: 'SUCCESS' | 'CLOSED' | 'ABNORMAL' | 'FAILED' | undefined, cause: string, facts: { refundId?: string, successTime?: string }, trace?: TraceContext, error?: unknown): Promise<{ refund: ReturnType<typeof toRefund>, order: ReturnType<typeof toOrder> }> {
    const { pool, keys, ledger } = this.deps
    return await withTransaction(pool, async (client) => {
      const order = await lockOrder(client, { id: orderId }) as OrderRow
      const refund = await lockRefund(client, refundId)
      if (facts.refundId !== undefined && refund.refund_id === null) {
        await client.query('UPDATE refunds SET refund_id = $2, updated_at = now() WHERE id = $1', [refund.id, facts.refundId])
        refund.refund_id = facts.refundId
      }
      if (outcome !== undefined) await ledger.settleRefund(client, order, refund, outcome, cause, facts, trace)
      const body = { refund: toRefund(refund), order: toOrder(order) }
      if (ref !== null) {
        if (error === undefined) await keys.complete(client, ref, 201, body)
        else await keys.completeWithError(client, ref, error)
      }
      return body
    })
  }
}
