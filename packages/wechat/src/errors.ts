import { createError, type AppError } from '@wxmp/core'

/**
 * The WeChat error catalogue. Codes and statuses reach the mini-program through the gateway's envelope, so the
 * messages speak to the mini-program developer: what happened and what the app should do next.
 */
export const WechatErrors = {
  // Login (code2Session)
  AuthCodeInvalid: createError('AUTH_CODE_INVALID', 'The login code is invalid or expired; call wx.login again for a new one', 401),
  AuthCodeUsed: createError('AUTH_CODE_USED', 'The login code was already used; call wx.login again for a new one', 401),
  AuthUserBlocked: createError('AUTH_USER_BLOCKED', 'WeChat blocked this login for risk control', 403),
  // Phone number
  PhoneCodeInvalid: createError('PHONE_CODE_INVALID', 'The phone number code is invalid, expired or already used; ask the user again', 400),
  // Legacy encryptedData
  UserDataInvalid: createError<[string]>('USER_DATA_INVALID', 'The encrypted user data cannot be accepted: %s', 400),
  // Any mini-program server API
  RateLimited: createError('WECHAT_RATE_LIMITED', 'WeChat is rate limiting this app; try again in a minute', 429),
  Unavailable: createError('WECHAT_UNAVAILABLE', 'WeChat is busy or unreachable; try again shortly', 503),
  Timeout: createError('WECHAT_TIMEOUT', 'WeChat did not answer in time; try again', 504),
  Upstream: createError('WECHAT_ERROR', 'WeChat refused the request', 502),

  // WeChat Pay API v3
  PayAuthFailed: createError('WECHATPAY_AUTH_FAILED', 'WeChat Pay refused the merchant credentials', 502),
  PayBadRequest: createError('WECHATPAY_BAD_REQUEST', 'WeChat Pay refused the request parameters', 502),
  PayOrderPaid: createError('WECHATPAY_ORDER_PAID', 'The order is already paid', 409),
  PayOrderClosed: createError('WECHATPAY_ORDER_CLOSED', 'The order is closed at WeChat Pay; place a new order', 409),
  PayOutTradeNoUsed: createError('WECHATPAY_OUT_TRADE_NO_USED', 'This order number was already used with different details', 409),
  PayNotEnough: createError('WECHATPAY_NOT_ENOUGH', 'The merchant balance cannot cover this refund now; it can be retried later', 409),
  PayNotFound: createError('WECHATPAY_NOT_FOUND', 'WeChat Pay has no such order or refund', 404),
  PayRejected: createError('WECHATPAY_REJECTED', 'WeChat Pay declined the request under its business rules', 422),
  PayRateLimited: createError('WECHATPAY_RATE_LIMITED', 'WeChat Pay is rate limiting this merchant; try again shortly', 429),
  PayUnavailable: createError('WECHATPAY_UNAVAILABLE', 'WeChat Pay is busy or unreachable; try again shortly', 503),
  PayTimeout: createError('WECHATPAY_TIMEOUT', 'WeChat Pay did not answer in time; try again', 504),
  PayUpstream: createError('WECHATPAY_ERROR', 'WeChat Pay refused the request', 502),
  /** A response from WeChat Pay whose signature did not verify: it is treated as never received. */
  PayResponseUnverified: createError('WECHATPAY_RESPONSE_UNVERIFIED', 'A WeChat Pay response failed signature verification', 502),
  /** A notification whose signature is missing, stale, from an unknown key, or wrong. */
  PaySignatureInvalid: createError('WECHATPAY_SIGNATURE_INVALID', 'The WeChat Pay signature did not verify', 401),
  /** A signed notification that cannot be decrypted or parsed, or is for another merchant. */
  PayNotificationInvalid: createError<[string]>('WECHATPAY_NOTIFICATION_INVALID', 'The WeChat Pay notification is not acceptable: %s', 400),

  // Message push (消息推送)
  /** A push or URL check whose signature or msg_signature is missing, stale or wrong. */
  PushSignatureInvalid: createError('WECHAT_PUSH_SIGNATURE_INVALID', 'The message push signature did not verify', 401),
  /** A signed push whose body does not parse or decrypt, or names another app. */
  PushMessageInvalid: createError<[string]>('WECHAT_PUSH_INVALID', 'The message push is not acceptable: %s', 400),

  // Order shipping management (发货信息管理)
  ShippingOrderNotFound: createError('WECHAT_SHIPPING_ORDER_NOT_FOUND', 'WeChat has no such payment to ship (10060001); a payment can take a few seconds to appear', 404),
  ShippingAlreadyShipped: createError('WECHAT_SHIPPING_ALREADY_SHIPPED', 'The payment has finished shipping (10060002)', 409),
  ShippingModificationUsed: createError('WECHAT_SHIPPING_MODIFICATION_USED', 'The payment\'s one shipping modification is already used (10060003)', 409),
  ShippingNotShippable: createError('WECHAT_SHIPPING_NOT_SHIPPABLE', 'The payment cannot be shipped in its state: confirmed, settled or refunded (10060004)', 409),
  ShippingInvalid: createError('WECHAT_SHIPPING_INVALID', 'WeChat refused the shipping information; see details.errcode', 422)
}

/** Attaches envelope details (never secrets) and response headers to a catalogue error. */
export function withDetails<E extends Error> (err: E, details?: Record<string, unknown>, headers?: Record<string, string>): E & AppError {
  const e = err as E & AppError
  if (details !== undefined) e.details = details
  if (headers !== undefined) e.headers = headers
  return e
}
