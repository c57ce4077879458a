import { createError } from '@wxmp/core'

/**
 * The WeChat error catalogue. Codes and statuses reach the mini-program through the gateway's envelope, so the
 * messages speak to the mini-program developer: what happened and what the app should do next.
 */
export const WechatErrors = {
  // Login (code2Session)
  AuthCodeInvalid: createError('AUTH_CODE_INVALID', 'The login code is invalid or expired; call wx.login again for a new one', 401, {
    meaning: 'WeChat does not know this wx.login code, or it expired (errcode 40029)',
    action: 'Call wx.login for a new code and log in with it'
  }),
  AuthCodeUsed: createError('AUTH_CODE_USED', 'The login code was already used; call wx.login again for a new one', 401, {
    meaning: 'This wx.login code was already exchanged (errcode 40163, or a replay after the short replay window)',
    action: 'Call wx.login for a new code; never reuse a code'
  }),
  AuthUserBlocked: createError('AUTH_USER_BLOCKED', 'WeChat blocked this login for risk control', 403, {
    meaning: 'WeChat risk control refused this user\'s login (errcode 40226)',
    action: 'Do not retry; tell the user to check their WeChat account'
  }),
  // Phone number
  PhoneCodeInvalid: createError('PHONE_CODE_INVALID', 'The phone number code is invalid, expired or already used; ask the user again', 400, {
    meaning: 'The getPhoneNumber code is unknown, expired or already used',
    action: 'Ask the user again with the getPhoneNumber button and send the new code'
  }),
  // Legacy encryptedData
  UserDataInvalid: createError<[string]>('USER_DATA_INVALID', 'The encrypted user data cannot be accepted: %s', 400, {
    meaning: 'The encryptedData/iv pair does not decrypt with the current session_key, or is for another app',
    action: 'Call wx.login again (a new session_key), then fetch the data again'
  }),
  // Any mini-program server API
  RateLimited: createError('WECHAT_RATE_LIMITED', 'WeChat is rate limiting this app; try again in a minute', 429, {
    meaning: 'WeChat is rate limiting this mini-program\'s server calls (errcode 45011)',
    action: 'Retry after the Retry-After seconds (60)'
  }),
  Unavailable: createError('WECHAT_UNAVAILABLE', 'WeChat is busy or unreachable; try again shortly', 503, {
    meaning: 'WeChat was busy (-1), answered 5xx or could not be reached, after the server\'s own retries',
    action: 'Retry after a short wait, with backoff'
  }),
  Timeout: createError('WECHAT_TIMEOUT', 'WeChat did not answer in time; try again', 504, {
    meaning: 'WeChat did not answer within WECHAT_TIMEOUT_MS; a login code may have been spent',
    action: 'For login call wx.login again for a new code; otherwise retry'
  }),
  Upstream: createError('WECHAT_ERROR', 'WeChat refused the request', 502, {
    meaning: 'WeChat answered with an error the server does not expect; details.errcode keeps WeChat\'s (its errmsg, with the rid WeChat support asks for, is in the server log under the traceId)',
    action: 'Retry later; report the traceId and details if it persists'
  }),

  // WeChat Pay API v3
  PayAuthFailed: createError('WECHATPAY_AUTH_FAILED', 'WeChat Pay refused the merchant credentials', 502, {
    meaning: 'WeChat Pay refused the merchant\'s signature or setup: a server configuration problem',
    action: 'Show that payment is unavailable; retrying does not help until the server is fixed'
  }),
  PayBadRequest: createError('WECHATPAY_BAD_REQUEST', 'WeChat Pay refused the request parameters', 502, {
    meaning: 'WeChat Pay refused the parameters the server sent',
    action: 'Show that payment failed; report the traceId'
  }),
  PayOrderPaid: createError('WECHATPAY_ORDER_PAID', 'The order is already paid', 409, {
    meaning: 'WeChat Pay says this order is already paid',
    action: 'Reload the order: it is paid; do not pay again'
  }),
  PayOrderClosed: createError('WECHATPAY_ORDER_CLOSED', 'The order is closed at WeChat Pay; place a new order', 409, {
    meaning: 'WeChat Pay closed this order (it expired or was cancelled)',
    action: 'Place a new order with a new Idempotency-Key'
  }),
  PayOutTradeNoUsed: createError('WECHATPAY_OUT_TRADE_NO_USED', 'This order number was already used with different details', 409, {
    meaning: 'WeChat Pay already has this order number with different details',
    action: 'Place a new order with a new Idempotency-Key'
  }),
  PayNotEnough: createError('WECHATPAY_NOT_ENOUGH', 'The merchant balance cannot cover this refund now; it can be retried later', 409, {
    meaning: 'The merchant\'s balance cannot cover the refund right now',
    action: 'Tell the user the refund is delayed; it is retried later'
  }),
  PayNotFound: createError('WECHATPAY_NOT_FOUND', 'WeChat Pay has no such order or refund', 404, {
    meaning: 'WeChat Pay has no record of this order or refund',
    action: 'Reload the order; place a new one if it was never paid'
  }),
  PayRejected: createError('WECHATPAY_REJECTED', 'WeChat Pay declined the request under its business rules', 422, {
    meaning: 'WeChat Pay declined under its business rules (trade, account or risk limits)',
    action: 'Do not retry unchanged; tell the user payment was declined'
  }),
  PayRateLimited: createError('WECHATPAY_RATE_LIMITED', 'WeChat Pay is rate limiting this merchant; try again shortly', 429, {
    meaning: 'WeChat Pay is rate limiting this merchant',
    action: 'Retry after the Retry-After seconds (5) with the same Idempotency-Key'
  }),
  PayUnavailable: createError('WECHATPAY_UNAVAILABLE', 'WeChat Pay is busy or unreachable; try again shortly', 503, {
    meaning: 'WeChat Pay was busy, answered 5xx or could not be reached, after the server\'s own retries',
    action: 'Retry after a short wait with the same Idempotency-Key'
  }),
  PayTimeout: createError('WECHATPAY_TIMEOUT', 'WeChat Pay did not answer in time; try again', 504, {
    meaning: 'WeChat Pay did not answer in time, after the server\'s own retries',
    action: 'Retry with the same Idempotency-Key; it never pays twice'
  }),
  PayUpstream: createError('WECHATPAY_ERROR', 'WeChat Pay refused the request', 502, {
    meaning: 'WeChat Pay answered with an error the server does not expect',
    action: 'Retry later with the same Idempotency-Key; report the traceId if it persists'
  }),
  /** A response from WeChat Pay whose signature did not verify: it is treated as never received. */
  PayResponseUnverified: createError('WECHATPAY_RESPONSE_UNVERIFIED', 'A WeChat Pay response failed signature verification', 502, {
    meaning: 'An answer claiming to be from WeChat Pay failed signature verification and was ignored',
    action: 'Retry later with the same Idempotency-Key; report the traceId'
  }),
  /** A notification whose signature is missing, stale, from an unknown key, or wrong. */
  PaySignatureInvalid: createError('WECHATPAY_SIGNATURE_INVALID', 'The WeChat Pay signature did not verify', 401, {
    meaning: 'Notify endpoint only: a payment notification whose signature is missing, stale or wrong',
    action: 'WeChat Pay sends it again; mini-programs never see this code'
  }),
  /** A signed notification that cannot be decrypted or parsed, or is for another merchant. */
  PayNotificationInvalid: createError<[string]>('WECHATPAY_NOTIFICATION_INVALID', 'The WeChat Pay notification is not acceptable: %s', 400, {
    meaning: 'Notify endpoint only: a signed notification that does not decrypt or parse, or is for another merchant or app',
    action: 'WeChat Pay sends it again; mini-programs never see this code'
  }),

  // Message push (消息推送)
  /** A push or URL check whose signature or msg_signature is missing, stale or wrong. */
  PushSignatureInvalid: createError('WECHAT_PUSH_SIGNATURE_INVALID', 'The message push signature did not verify', 401, {
    meaning: 'Push endpoint only: a message push or URL check whose signature or msg_signature is missing or wrong',
    action: 'WeChat sends it again; mini-programs never see this code'
  }),
  /** A signed push whose body does not parse or decrypt, or names another app. */
  PushMessageInvalid: createError<[string]>('WECHAT_PUSH_INVALID', 'The message push is not acceptable: %s', 400, {
    meaning: 'Push endpoint only: a signed push that does not decrypt or parse, or is for another app',
    action: 'WeChat sends it again; mini-programs never see this code'
  }),

  // Order shipping management (发货信息管理)
  ShippingOrderNotFound: createError('WECHAT_SHIPPING_ORDER_NOT_FOUND', 'WeChat has no such payment to ship (10060001); a payment can take a few seconds to appear', 404, {
    meaning: 'WeChat has no record of this payment for shipping (errcode 10060001)',
    action: 'Staff: retry shipping in a few seconds; the payment may not have reached WeChat yet'
  }),
  ShippingAlreadyShipped: createError('WECHAT_SHIPPING_ALREADY_SHIPPED', 'The payment has finished shipping (10060002)', 409, {
    meaning: 'The payment has already finished shipping (errcode 10060002)',
    action: 'Staff: reload the order; nothing more to report'
  }),
  ShippingModificationUsed: createError('WECHAT_SHIPPING_MODIFICATION_USED', 'The payment\'s one shipping modification is already used (10060003)', 409, {
    meaning: 'The one modification WeChat allows per payment is spent (errcode 10060003)',
    action: 'Staff: the shipping information can no longer be changed'
  }),
  ShippingNotShippable: createError('WECHAT_SHIPPING_NOT_SHIPPABLE', 'The payment cannot be shipped in its state: confirmed, settled or refunded (10060004)', 409, {
    meaning: 'The payment is confirmed, settled or refunded and can no longer be shipped (errcode 10060004)',
    action: 'Staff: reload the order'
  }),
  ShippingInvalid: createError('WECHAT_SHIPPING_INVALID', 'WeChat refused the shipping information; see details.errcode', 422, {
    meaning: 'WeChat refused the shipping information as invalid; details.errcode says which rule',
    action: 'Staff: correct the carrier or tracking number and ship again'
  })
}
