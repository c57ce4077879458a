import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * The signatures of WeChat's virtual payment (小程序虚拟支付):
 * https://developers.weixin.qq.com/miniprogram/dev/platform-capabilities/industry/virtual-payment.html
 * https://developers.weixin.qq.com/minigame/dev/guide/open-ability/virtual-payment/signature.html
 * All are lower-case hex HMAC-SHA256 over UTF-8 text, so the text signed must be the exact bytes sent.
 */

/** The method name paySig covers for the mini-program's `wx.requestVirtualPayment`. */
export const VIRTUAL_PAYMENT_METHOD = 'requestVirtualPayment'

/** 道具直购 (buy an item directly), the mode of wx.requestVirtualPayment used for goods with a fixed price. */
export const VIRTUAL_PAYMENT_MODE = 'short_series_goods'

export function hmacSha256Hex (key: string, message: string): string {
  return createHmac('sha256', Buffer.from(key, 'utf8')).update(message, 'utf8').digest('hex')
}

/** paySig of `wx.requestVirtualPayment`: HMAC-SHA256 with the AppKey over `requestVirtualPayment&` + signData. */
export function virtualPaySig (appKey: string, signData: string): string {
  return hmacSha256Hex(appKey, `${VIRTUAL_PAYMENT_METHOD}&${signData}`)
}

/** pay_sig of a server API call (`/xpay/...`): HMAC-SHA256 with the AppKey over the path, `&`, and the exact body. */
export function xpayPaySig (appKey: string, uri: string, body: string): string {
  return hmacSha256Hex(appKey, `${uri}&${body}`)
}

/**
 * The user-state signature (`signature`): HMAC-SHA256 with the user's current session_key over the data
 * (signData for wx.requestVirtualPayment, the body for the server APIs that need it). Only the holder of the
 * session_key can make it: in wxmp that is auth, over `auth.signUserState`.
 */
export function userStateSignature (sessionKey: string, data: string): string {
  return hmacSha256Hex(sessionKey, data)
}

/** Constant-time comparison of two hex signatures; false for anything not the same length. */
export function sameSignature (expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false
  const a = Buffer.from(expected.toLowerCase(), 'utf8')
  const b = Buffer.from(given.toLowerCase(), 'utf8')
  return a.length === b.length && timingSafeEqual(a, b)
}

/** The fields of signData for 道具直购, prices in fen. */
export interface SignDataFields {
  /** The virtual-payment merchant's OfferId (支付应用 ID). */
  offerId: string
  buyQuantity: number
  /** 0 production (现网), 1 sandbox (沙箱). */
  env: 0 | 1
  /** The product id as configured in the virtual-payment console (道具 id). */
  productId: string
  /** Unit price in fen; it must match the price configured for the product. */
  goodsPrice: number
  /** The merchant's order number; WeChat's pushes and query_order name the order by it. */
  outTradeNo: string
  /** Passed back untouched in the deliver push (at most 128 bytes). */
  attach: string
}

/**
 * signData as the JSON text wx.requestVirtualPayment takes, its keys in a fixed order. The text is signed as it is
 * and must reach the phone byte for byte (the SDK passes the string on; it never re-serializes it).
 */
export function buildSignData (f: SignDataFields): string {
  return JSON.stringify({
    offerId: f.offerId,
    buyQuantity: f.buyQuantity,
    env: f.env,
    currencyType: 'CNY',
    productId: f.productId,
    goodsPrice: f.goodsPrice,
    outTradeNo: f.outTradeNo,
    attach: f.attach
  })
}
