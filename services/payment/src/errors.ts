import { createError } from '@wxmp/core'

/**
 * The payment catalogue. Messages reach the mini-program through the gateway's envelope, so they say what the
 * app should do next.
 */
export const PaymentErrors = {
  IdempotencyKeyInUse: createError('IDEMPOTENCY_KEY_IN_USE', 'A request with this Idempotency-Key is still being processed; retry shortly', 409),
  IdempotencyKeyReused: createError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used for a different request; use a new key', 422),
  ProductNotFound: createError('PRODUCT_NOT_FOUND', 'No such product is for sale', 404),
  AmountTooLarge: createError('ORDER_AMOUNT_TOO_LARGE', 'The order total is larger than WeChat Pay accepts; order fewer', 422),
  PayerUnknown: createError('PAYER_NOT_WECHAT_USER', 'This account has no WeChat identity to pay with; sign in with WeChat', 422),
  OrderNotFound: createError('ORDER_NOT_FOUND', 'Order not found', 404),
  OrderNotPayable: createError<[string]>('ORDER_NOT_PAYABLE', 'The order is %s and can no longer be paid; place a new order with a new Idempotency-Key', 409),
  OrderNotRefundable: createError<[string]>('ORDER_NOT_REFUNDABLE', 'The order is %s; only a paid order can be refunded', 409),
  RefundExceedsPaid: createError<[number]>('REFUND_EXCEEDS_PAID', 'The refund is more than is left to refund on this order (%d fen)', 422),
  CursorInvalid: createError('CURSOR_INVALID', 'The cursor is not one this API returned', 400),
  /** A signed notification that contradicts the order it names: logged and refused, nothing changes. */
  PaymentMismatch: createError<[string]>('PAYMENT_MISMATCH', 'The notification does not match the order: %s', 400)
}
