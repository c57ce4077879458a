import { annotate } from '@wxmp/core'
import { WechatErrors } from '../errors.js'

type ErrorClass = new () => Error

/**
 * WeChat Pay error codes by class. v3 spells most codes with underscores, but older tables and some endpoints
 * still answer with the v2 spellings, so both are listed.
 */
const BY_CODE: Record<string, ErrorClass> = {
  // Our credentials or merchant setup: an operator must act; retrying cannot help.
  SIGN_ERROR: WechatErrors.PayAuthFailed,
  NO_AUTH: WechatErrors.PayAuthFailed,
  NOAUTH: WechatErrors.PayAuthFailed,
  APPID_MCHID_NOT_MATCH: WechatErrors.PayAuthFailed,
  MCH_NOT_EXISTS: WechatErrors.PayAuthFailed,
  // Our request: a bug or a stale assumption on our side.
  PARAM_ERROR: WechatErrors.PayBadRequest,
  INVALID_REQUEST: WechatErrors.PayBadRequest,
  OPENID_MISMATCH: WechatErrors.PayBadRequest,
  INVALID_TRANSACTIONID: WechatErrors.PayBadRequest,
  // The order's state conflicts with the request.
  ORDERPAID: WechatErrors.PayOrderPaid,
  ORDER_PAID: WechatErrors.PayOrderPaid,
  ORDER_CLOSED: WechatErrors.PayOrderClosed,
  ORDERCLOSED: WechatErrors.PayOrderClosed,
  OUT_TRADE_NO_USED: WechatErrors.PayOutTradeNoUsed,
  NOT_ENOUGH: WechatErrors.PayNotEnough,
  NOTENOUGH: WechatErrors.PayNotEnough,
  // Unknown order or refund.
  ORDER_NOT_EXIST: WechatErrors.PayNotFound,
  ORDERNOTEXIST: WechatErrors.PayNotFound,
  RESOURCE_NOT_EXISTS: WechatErrors.PayNotFound,
  // WeChat Pay's own rules said no.
  TRADE_ERROR: WechatErrors.PayRejected,
  RULE_LIMIT: WechatErrors.PayRejected,
  RULELIMIT: WechatErrors.PayRejected,
  ACCOUNT_ERROR: WechatErrors.PayRejected,
  ACCOUNTERROR: WechatErrors.PayRejected,
  USER_ACCOUNT_ABNORMAL: WechatErrors.PayRejected,
  FREQUENCY_LIMITED: WechatErrors.PayRateLimited,
  RATELIMIT_EXCEEDED: WechatErrors.PayRateLimited,
  // Transient on WeChat's side (retried before it comes to this).
  SYSTEM_ERROR: WechatErrors.PayUnavailable,
  SYSTEMERROR: WechatErrors.PayUnavailable,
  BANK_ERROR: WechatErrors.PayUnavailable,
  BANKERROR: WechatErrors.PayUnavailable
}

function byStatus (status: number): ErrorClass {
  if (status >= 500) return WechatErrors.PayUnavailable
  switch (status) {
    case 400: return WechatErrors.PayBadRequest
    case 401: return WechatErrors.PayAuthFailed
    case 403: return WechatErrors.PayRejected
    case 404: return WechatErrors.PayNotFound
    case 429: return WechatErrors.PayRateLimited
    default: return WechatErrors.PayUpstream
  }
}

/** A WeChat Pay error answer as a catalogue error; the WeChat code rides along in `details` for callers and support. */
export function mapPayError (api: string, status: number, code: string | undefined, requestId: string | undefined): Error {
  const Cls = (code !== undefined ? BY_CODE[code] : undefined) ?? byStatus(status)
  const details: Record<string, unknown> = { api, wechatStatus: status }
  if (code !== undefined) details.wechatCode = code
  if (requestId !== undefined) details.requestId = requestId
  return annotate(new Cls(), { details, ...(Cls === WechatErrors.PayRateLimited ? { headers: { 'retry-after': '5' } } : {}) })
}
