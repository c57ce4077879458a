import { createError } from '@wxmp/core'

/**
 * The payment catalogue. Messages reach the mini-program through the gateway's envelope, so they say what the
 * app should do next.
 */
export const PaymentErrors = {
  IdempotencyKeyInUse: createError('IDEMPOTENCY_KEY_IN_USE', 'A request with this Idempotency-Key is still being processed; retry shortly', 409, {
    meaning: 'An earlier request with this Idempotency-Key is still in progress',
    action: 'Retry the same request, with the same key, after a short wait'
  }),
  IdempotencyKeyReused: createError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used for a different request; use a new key', 422, {
    meaning: 'This Idempotency-Key was already used with a different body or route',
    action: 'Use a new key for a new intended payment; reuse a key only for retries of the same request'
  }),
  ProductNotFound: createError('PRODUCT_NOT_FOUND', 'No such product is for sale', 404, {
    meaning: 'The productId is not in the catalog, or no longer for sale',
    action: 'Reload GET /v1/payments/products and let the user choose again'
  }),
  AmountTooLarge: createError('ORDER_AMOUNT_TOO_LARGE', 'The order total is larger than WeChat Pay accepts; order fewer', 422, {
    meaning: 'Price times quantity is more than WeChat Pay accepts for one order',
    action: 'Order a smaller quantity'
  }),
  PayerUnknown: createError('PAYER_NOT_WECHAT_USER', 'This account has no WeChat identity to pay with; sign in with WeChat', 422, {
    meaning: 'The signed-in account has no WeChat openid for this mini-program, so WeChat Pay cannot charge it',
    action: 'Sign in with wx.login, then order again'
  }),
  OrderNotFound: createError('ORDER_NOT_FOUND', 'Order not found', 404, {
    meaning: 'No order with this id belongs to the caller',
    action: 'Reload the order list; do not retry'
  }),
  OrderNotPayable: createError<[string]>('ORDER_NOT_PAYABLE', 'The order is %s and can no longer be paid; place a new order with a new Idempotency-Key', 409, {
    meaning: 'The order (named by its id, or behind this Idempotency-Key) is closed, paid, or about to expire',
    action: 'Place a new order with a new Idempotency-Key'
  }),
  OrderNotRefundable: createError<[string]>('ORDER_NOT_REFUNDABLE', 'The order is %s; only a paid order can be refunded', 409, {
    meaning: 'Only a paid (or partly refunded) order can be refunded; the message says its status',
    action: 'Reload the order; do not retry'
  }),
  RefundExceedsPaid: createError<[number]>('REFUND_EXCEEDS_PAID', 'The refund is more than is left to refund on this order (%d fen)', 422, {
    meaning: 'The refund amount is more than what is left to refund on the order',
    action: 'Ask for at most the amount in the message (fen)'
  }),
  RefundRequestOpen: createError('REFUND_REQUEST_OPEN', 'A refund request for this order is already waiting for the merchant', 409, {
    meaning: 'The order already has a refund request that staff have not decided yet',
    action: 'Wait for the merchant\'s decision (the order leaves REFUND_REQUESTED); do not retry'
  }),
  RefundRequestNotFound: createError('REFUND_REQUEST_NOT_FOUND', 'Refund request not found', 404, {
    meaning: 'Staff only: no refund request has this id',
    action: 'Reload the order and its refund requests'
  }),
  RefundRequestDecided: createError<[string]>('REFUND_REQUEST_DECIDED', 'The refund request was already %s', 409, {
    meaning: 'Staff only: the request was already decided the other way (approved or declined)',
    action: 'Reload the order; a declined request cannot be approved (the buyer asks again)'
  }),
  OrderNotClosable: createError<[string]>('ORDER_NOT_CLOSABLE', 'The order is %s; only an unpaid order can be cancelled', 409, {
    meaning: 'Only an unpaid (PENDING) order can be cancelled or closed; the message says its status',
    action: 'Reload the order; a paid order is refunded instead'
  }),
  CursorInvalid: createError('CURSOR_INVALID', 'The cursor is not one this API returned', 400, {
    meaning: 'The list cursor was not returned by this API, or was altered',
    action: 'Start the list again without a cursor'
  }),
  /** A signed notification that contradicts the order it names: logged and refused, nothing changes. */
  PaymentMismatch: createError<[string]>('PAYMENT_MISMATCH', 'The notification does not match the order: %s', 400, {
    meaning: 'Notify endpoint only: a signed WeChat Pay notification that contradicts the order it names',
    action: 'Nothing changes and the notification is refused; mini-programs never see this code'
  }),
  OrderNotShippable: createError<[string]>('ORDER_NOT_SHIPPABLE', 'The order cannot be shipped: %s', 409, {
    meaning: 'Staff only: the order is not paid, or is virtual goods (reported automatically at payment)',
    action: 'Reload the order; do not retry'
  }),
  VirtualPaymentUnavailable: createError('VIRTUAL_PAYMENT_UNAVAILABLE', 'Virtual goods cannot be sold right now', 503, {
    meaning: 'The product is sold through WeChat\'s virtual payment, which this deployment has not configured (XPAY_OFFER_ID, XPAY_APP_KEY_FILE)',
    action: 'Try again later; operators configure virtual payment'
  }),
  ShippingDetailsMissing: createError('SHIPPING_DETAILS_MISSING', 'Express delivery needs the carrier (expressCompany) and the tracking number', 400, {
    meaning: 'Staff only: an express shipment without its carrier id or tracking number, which WeChat requires',
    action: 'Send expressCompany (from WeChat\'s carrier list) and trackingNo'
  }),
  ReceiptReminderNotAllowed: createError<[string]>('RECEIPT_REMINDER_NOT_ALLOWED', 'The buyer cannot be reminded to confirm receipt: %s', 409, {
    meaning: 'Staff only: WeChat reminds a buyer to confirm receipt only for an order shipped by express and reported, not yet confirmed',
    action: 'Reload the order; do not retry'
  }),
  ReceiptAlreadyReminded: createError('RECEIPT_ALREADY_REMINDED', 'The buyer was already reminded to confirm receipt; WeChat allows it once per payment', 409, {
    meaning: 'Staff only: notify_confirm_receive was already sent for this payment, and WeChat takes it once',
    action: 'Nothing to do: the buyer confirms, or WeChat confirms on its own later'
  }),
  ReceivedTimeInvalid: createError('RECEIVED_TIME_INVALID', 'The signed-for time must be after the order shipped and not in the future', 400, {
    meaning: 'Staff only: the carrier\'s signed-for time is before the shipping report or in the future, which WeChat refuses (errcode 10060029)',
    action: 'Send the time the carrier reports the parcel was signed for'
  })
}
