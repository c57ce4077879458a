import { createVerify, type KeyObject } from 'node:crypto'
import type { Order } from './pay.js'

/** What a mini-program passes to wx.requestPayment (the appId is the mini-program's own, never passed). */
export interface PaymentSheet {
  timeStamp: string
  nonceStr: string
  package: string
  signType: string
  paySign: string
}

/** WeChat's errMsg when the sheet cannot open: the merchant's signature does not verify. */
export const SIGN_FAILED = 'requestPayment:fail 支付验证签名失败'

/**
 * Checks the parameters as the WeChat client does before showing the payment sheet: the package names a
 * live prepay_id of this app's order, signType is RSA, and paySign is the merchant's RSA-SHA256 signature over
 * `appId\ntimeStamp\nnonceStr\npackage\n`. Returns the order, or the errMsg wx.requestPayment fails with.
 */
export function openSheet (sheet: PaymentSheet, appid: string, merchantPublicKey: KeyObject, orders: Iterable<Order>, expired: (order: Order) => boolean = () => false): { order: Order } | { errMsg: string } {
  if (!/^\d{1,12}$/.test(sheet.timeStamp)) return { errMsg: 'requestPayment:fail parameter error: timeStamp should be seconds as a string' }
  if (sheet.nonceStr === '' || sheet.nonceStr.length > 32) return { errMsg: 'requestPayment:fail parameter error: nonceStr' }
  if (sheet.signType !== 'RSA') return { errMsg: 'requestPayment:fail parameter error: signType should be RSA' }
  const prepayId = /^prepay_id=(.+)$/.exec(sheet.package)?.[1]
  if (prepayId === undefined) return { errMsg: 'requestPayment:fail parameter error: package should be prepay_id=...' }
  let ok = false
  try {
    ok = createVerify('RSA-SHA256')
      .update(`${appid}\n${sheet.timeStamp}\n${sheet.nonceStr}\n${sheet.package}\n`, 'utf8')
      .verify(merchantPublicKey, Buffer.from(sheet.paySign, 'base64'))
  } catch {
    ok = false
  }
  if (!ok) return { errMsg: SIGN_FAILED }
  for (const order of orders) {
    // A prepay_id past its two hours (or replaced by a new prepay) no longer opens the sheet.
    if (order.prepayId === prepayId && order.appid === appid && !expired(order)) return { order }
  }
  return { errMsg: 'requestPayment:fail prepay_id is invalid' }
}
