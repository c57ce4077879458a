import type { Pool } from 'pg'
import { businessCounter, withTransaction, type Log, type TraceContext } from '@wxmp/core'
import type { Delivery, ShipOrderReply, ShipOrderRequest } from '@wxmp/contracts'
import { LogisticsType, OrderState, shippingUploadTime, type ShippingClient, type ShippingItem } from '@wxmp/wechat'
import { PaymentErrors } from '../errors.js'
import type { Ledger } from './ledger.js'
import type { Merchant } from './notifications.js'
import { lockOrder, orderById, toOrder, type OrderRow } from './orders.js'
import { audit, type Actor } from './staff.js'

const uploads = businessCounter('payment_shipping_uploads_total', 'Shipping reports by outcome (uploaded, recorded_already, uncertain, failed)', ['outcome'] as const)

/** The logistics_type WeChat takes for each delivery method. */
export const LOGISTICS_TYPE: Record<Delivery, LogisticsType> = {
  express: LogisticsType.Express,
  'same-city': LogisticsType.SameCity,
  virtual: LogisticsType.Virtual,
  pickup: LogisticsType.Pickup
}

interface ShipmentRow {
  order_id: string
  logistics_type: LogisticsType
  express_company: string | null
  tracking_no: string | null
  receiver_contact: string | null
  item_desc: string
  state: 'pending' | 'uncertain' | 'reported'
  attempts: number
}

/** What one reporting attempt came to. */
export type ReportOutcome = 'reported' | 'already' | 'busy' | 'pending'

/**
 * How long one reporter holds a shipment: longer than an upload and a get_order with its retries (three calls and
 * their backoff), so a reporter that died (a killed replica) holds it up no longer than that.
 */
export function claimSeconds (wechatTimeoutMs: number): number {
  return Math.ceil((4 * wechatTimeoutMs) / 1000) + 7
}

/**
 * Reports shipping to WeChat's order shipping management (发货信息管理), exactly once per order. A shipment is marked
 * `uncertain` before its upload is sent, so whatever happens next (a timeout, a 5xx, a crash) the next attempt reads
 * the platform's order with get_order first and uploads only if the platform has no shipping for it: a second upload
 * would spend the payment's one allowed modification. A definite refusal puts it back to `pending`, retried later.
 */
export class Shipping {
  constructor (private readonly deps: {
    pool: Pool
    ledger: Ledger
    client: ShippingClient
    merchant: Merchant
    retryAfterSeconds: number
    /** claimSeconds(WECHAT_TIMEOUT_MS). */
    claimSeconds: number
  }) {}

  /** Records a virtual order's shipment (logistics type 3) once it is paid; report() sends it. */
  async planVirtual (order: OrderRow): Promise<boolean> {
    // Virtual-payment orders are not WeChat Pay payments: shipping management does not cover them.
    if (order.delivery !== 'virtual' || order.rail === 'virtual') return false
    const { rowCount } = await this.deps.pool.query(
      'INSERT INTO shipments (order_id, logistics_type, item_desc) VALUES ($1, $2, $3) ON CONFLICT (order_id) DO NOTHING',
      [order.id, LogisticsType.Virtual, order.description.slice(0, 120)]
    )
    return rowCount === 1
  }

  /** Right after PAID: a virtual order is reported at once (logistics type 3); the reconciler covers a failure. */
  async afterPaid (orderId: string, log: Log, trace?: TraceContext): Promise<ReportOutcome | undefined> {
    const order = await orderById(this.deps.pool, orderId)
    if (order === undefined || !(await this.planVirtual(order))) return undefined
    return await this.report(orderId, 'paid', log, trace)
  }

  /**
   * payment.admin.shipOrder: staff ship a physical order with carrier and tracking number; reported at once. The
   * first ship of an order is audited (events.admin.order_shipped) in the transaction that records the shipment.
   */
  async ship (input: ShipOrderRequest, log: Log, trace?: TraceContext, actor?: Actor): Promise<ShipOrderReply> {
    await withTransaction(this.deps.pool, async (client) => {
      const order = await lockOrder(client, { id: input.orderId })
      if (order === undefined) throw new PaymentErrors.OrderNotFound()
      if (order.status !== 'PAID' && order.status !== 'SHIPPED' && order.status !== 'CONFIRMED' && order.status !== 'SETTLED') throw new PaymentErrors.OrderNotShippable(order.status)
      if (order.delivery === 'virtual') throw new PaymentErrors.OrderNotShippable('virtual goods are reported automatically')
      const logisticsType = LOGISTICS_TYPE[order.delivery]
      if (logisticsType === LogisticsType.Express && (input.expressCompany === undefined || input.trackingNo === undefined)) {
        throw new PaymentErrors.ShippingDetailsMissing()
      }
      // A second ship of the same order changes nothing: the one allowed modification is not spent from here.
      const { rowCount } = await client.query(
        `INSERT INTO shipments (order_id, logistics_type, express_company, tracking_no, receiver_contact, item_desc)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (order_id) DO NOTHING`,
        [order.id, logisticsType, input.expressCompany ?? null, input.trackingNo ?? null, input.receiverContact ?? null, order.description.slice(0, 120)]
      )
      if (rowCount === 1 && actor !== undefined) await audit(client, 'order_shipped', order.id, actor, { orderId: order.id, outTradeNo: order.out_trade_no }, trace)
    })
    const outcome = await this.report(input.orderId, 'staff', log, trace)
    const order = await orderById(this.deps.pool, input.orderId) as OrderRow
    return { orderId: order.id, shipment: outcome === 'reported' || outcome === 'already' ? 'reported' : 'pending', order: toOrder(order) }
  }

  /** Shipments not reported yet whose next attempt is due: the reconciler's work list. */
  async due (limit: number): Promise<string[]> {
    const { rows } = await this.deps.pool.query<{ order_id: string }>(
      `SELECT order_id FROM shipments WHERE state <> 'reported' AND next_attempt_at <= now()
          AND (claimed_until IS NULL OR claimed_until < now()) ORDER BY next_attempt_at LIMIT $1`,
      [limit]
    )
    return rows.map((r) => r.order_id)
  }

  /** PAID virtual orders older than `afterSeconds` with no shipment at all (the report at PAID never ran). */
  async planMissedVirtual (afterSeconds: number, limit: number): Promise<number> {
    const { rowCount } = await this.deps.pool.query(
      `INSERT INTO shipments (order_id, logistics_type, item_desc)
       SELECT o.id, ${LogisticsType.Virtual}, left(o.description, 120) FROM orders o
        WHERE o.status = 'PAID' AND o.delivery = 'virtual' AND o.rail = 'jsapi' AND o.paid_at <= now() - make_interval(secs => $1)
          AND NOT EXISTS (SELECT 1 FROM shipments s WHERE s.order_id = o.id)
        ORDER BY o.paid_at LIMIT $2
       ON CONFLICT (order_id) DO NOTHING`,
      [afterSeconds, limit]
    )
    return rowCount ?? 0
  }

  /** One attempt to get an order's shipment to the platform; safe to call from anywhere, any number of times. */
  async report (orderId: string, cause: string, log: Log, trace?: TraceContext): Promise<ReportOutcome> {
    const claimed = await this.claim(orderId)
    if (claimed === undefined) return 'busy'
    const { shipment, order } = claimed
    if (shipment.state === 'reported') return 'already'
    const transactionId = order.transaction_id
    if (transactionId === null) return await this.release(orderId, 'the order has no transaction_id yet')
    const slog = log.child({ orderId, outTradeNo: order.out_trade_no, logisticsType: shipment.logistics_type })
    if (shipment.state === 'uncertain') {
      let state: number
      try {
        state = (await this.deps.client.getOrder({ transaction_id: transactionId })).order_state
      } catch (err) {
        slog.warn({ err }, 'get_order failed; the uncertain upload is checked again later')
        return await this.release(orderId, 'get_order failed', true)
      }
      if (state !== OrderState.Unshipped) {
        // Recorded (or beyond: confirmed, settled, refunded): the earlier upload reached the platform.
        uploads.inc({ outcome: 'recorded_already' })
        slog.info({ orderState: state }, 'the platform already has this shipment; not uploaded again')
        await this.reported(order, shipment, `${cause}:get_order`, trace)
        return 'reported'
      }
    }
    await this.deps.pool.query("UPDATE shipments SET state = 'uncertain', attempts = attempts + 1, updated_at = now() WHERE order_id = $1", [orderId])
    try {
      await this.deps.client.uploadShippingInfo({
        order_key: { order_number_type: 2, transaction_id: transactionId },
        logistics_type: shipment.logistics_type,
        delivery_mode: 1,
        shipping_list: [this.item(shipment)],
        upload_time: shippingUploadTime(),
        // Kept on a deleted payer's paid order until this report (see erased_users); '' would be refused by WeChat.
        payer: { openid: order.payer_openid ?? '' }
      })
    } catch (err) {
      const uncertain = (err as { details?: { uncertain?: boolean } }).details?.uncertain === true
      uploads.inc({ outcome: uncertain ? 'uncertain' : 'failed' })
      slog.warn({ err, uncertain }, uncertain ? 'shipping upload answer unknown; get_order decides next time' : 'shipping upload refused; retried later')
      return await this.release(orderId, (err as Error).message, uncertain)
    }
    uploads.inc({ outcome: 'uploaded' })
    slog.info('shipping reported to WeChat')
    await this.reported(order, shipment, cause, trace)
    return 'reported'
  }

  /**
   * notify_confirm_receive (确认收货提醒): once the carrier reports the parcel signed for, WeChat reminds the buyer to
   * confirm receipt, which releases the money sooner. WeChat takes it for express shipments only, once per payment,
   * with a signed-for time after the shipping upload. Nothing here hears from carriers, so staff (or a carrier
   * integration) call this with the carrier's time. The reminder is claimed before the call (so two callers send it
   * once) and released if WeChat refused it or its answer is unknown; the caller may then try again.
   */
  async remindConfirmReceipt (input: { orderId: string, receivedAt: Date }, log: Log): Promise<{ orderId: string, receivedTime: number }> {
    const receivedTime = Math.floor(input.receivedAt.getTime() / 1000)
    const claimed = await withTransaction(this.deps.pool, async (client) => {
      const order = await lockOrder(client, { id: input.orderId })
      if (order === undefined) throw new PaymentErrors.OrderNotFound()
      const { rows: [s] } = await client.query<{ logistics_type: number, state: string, reported_at: Date | null, receipt_reminded_at: Date | null }>(
        'SELECT logistics_type, state, reported_at, receipt_reminded_at FROM shipments WHERE order_id = $1 FOR UPDATE', [order.id])
      if (s === undefined || s.state !== 'reported' || order.status !== 'SHIPPED') {
        throw new PaymentErrors.ReceiptReminderNotAllowed(order.status === 'SHIPPED' ? 'its shipment is not reported yet' : `the order is ${order.status}`)
      }
      if (s.logistics_type !== LogisticsType.Express) throw new PaymentErrors.ReceiptReminderNotAllowed('WeChat reminds buyers of express shipments only')
      if (s.receipt_reminded_at !== null) throw new PaymentErrors.ReceiptAlreadyReminded()
      // WeChat compares in whole seconds; a time before the upload (or to come) is refused there with 10060029.
      if (s.reported_at === null || receivedTime < Math.floor(s.reported_at.getTime() / 1000) || input.receivedAt.getTime() > Date.now() + 60_000) {
        throw new PaymentErrors.ReceivedTimeInvalid()
      }
      await client.query('UPDATE shipments SET receipt_reminded_at = now(), received_at = $2, updated_at = now() WHERE order_id = $1', [order.id, input.receivedAt])
      return order
    })
    const slog = log.child({ orderId: claimed.id, outTradeNo: claimed.out_trade_no })
    try {
      await this.deps.client.notifyConfirmReceive({ transaction_id: claimed.transaction_id as string, received_time: receivedTime })
    } catch (err) {
      await this.deps.pool.query('UPDATE shipments SET receipt_reminded_at = NULL, received_at = NULL, updated_at = now() WHERE order_id = $1', [claimed.id])
      slog.warn({ err }, 'notify_confirm_receive failed; the reminder can be sent again')
      throw err
    }
    slog.info({ receivedTime }, 'buyer reminded to confirm receipt')
    return { orderId: claimed.id, receivedTime }
  }

  private item (s: ShipmentRow): ShippingItem {
    return {
      item_desc: s.item_desc,
      ...(s.tracking_no === null ? {} : { tracking_no: s.tracking_no }),
      ...(s.express_company === null ? {} : { express_company: s.express_company }),
      ...(s.receiver_contact === null ? {} : { contact: { receiver_contact: s.receiver_contact } })
    }
  }

  private async claim (orderId: string): Promise<{ shipment: ShipmentRow, order: OrderRow } | undefined> {
    return await withTransaction(this.deps.pool, async (client) => {
      const { rows } = await client.query<ShipmentRow>(
        `UPDATE shipments SET claimed_until = now() + make_interval(secs => $2), updated_at = now()
          WHERE order_id = $1 AND (claimed_until IS NULL OR claimed_until < now())
          RETURNING order_id, logistics_type, express_company, tracking_no, receiver_contact, item_desc, state, attempts`,
        [orderId, this.deps.claimSeconds]
      )
      const shipment = rows[0]
      if (shipment === undefined) return undefined
      const order = await lockOrder(client, { id: orderId })
      return order === undefined ? undefined : { shipment, order }
    })
  }

  /** Lets go of a shipment not reported yet; `uncertain` keeps it so (get_order first next time). */
  private async release (orderId: string, why: string, keepState = false): Promise<ReportOutcome> {
    await this.deps.pool.query(
      `UPDATE shipments SET claimed_until = NULL, last_error = $2, updated_at = now(),
              state = CASE WHEN $3 THEN state ELSE 'pending' END,
              next_attempt_at = now() + make_interval(secs => $4)
        WHERE order_id = $1 AND state <> 'reported'`,
      [orderId, why.slice(0, 200), keepState, this.deps.retryAfterSeconds]
    )
    return 'pending'
  }

  private async reported (order: OrderRow, shipment: ShipmentRow, cause: string, trace?: TraceContext): Promise<void> {
    await withTransaction(this.deps.pool, async (client) => {
      await client.query("UPDATE shipments SET state = 'reported', reported_at = now(), claimed_until = NULL, last_error = NULL, updated_at = now() WHERE order_id = $1", [order.id])
      const locked = await lockOrder(client, { id: order.id })
      if (locked !== undefined) await this.deps.ledger.markShipped(client, locked, shipment.logistics_type, `shipping:${cause}`, trace)
      // A payer who deleted their account kept the openid only for this report.
      const { rowCount } = await client.query('UPDATE orders SET payer_openid = NULL WHERE id = $1 AND user_id IN (SELECT user_id FROM erased_users)', [order.id])
      if (rowCount === 1) await client.query('UPDATE shipments SET receiver_contact = NULL WHERE order_id = $1', [order.id])
    })
  }
}
