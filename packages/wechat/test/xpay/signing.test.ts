import t from 'tap'
import { buildSignData, sameSignature, userStateSignature, virtualPaySig, xpayPaySig } from '../../src/index.js'

// The sample of WeChat's own documentation, 虚拟支付签名 (pay_sig and the user-state signature), with the values it
// prints: https://developers.weixin.qq.com/minigame/dev/guide/open-ability/virtual-payment/signature.html
// The body is the documented serialization, byte for byte (spaces after colons and commas included).
const DOC_APP_KEY = '12345'
const DOC_URI = '/wxa/game/getbalance'
const DOC_BODY = '{"offer_id": "12345678", "openid": "oUrsfxxxxxxxxxx", "ts": 1668136271, "zone_id": "1", "env": 0}'
const DOC_SESSION_KEY = '9hAb/NEYUlkaMBEsmFgzig=='

t.test('pay_sig and signature match the sample values of WeChat\'s documentation', async (t) => {
  t.equal(xpayPaySig(DOC_APP_KEY, DOC_URI, DOC_BODY), '11bac6388871d29c055c7d16fbe42e8d646855b666faf89b15c815218b1b23bd')
  t.equal(userStateSignature(DOC_SESSION_KEY, DOC_BODY), '42fe1d3341fb1c8bd6f5014ba735ab04eacc80a2deb3ab4669eab4700b5b6729')
})

t.test('paySig of wx.requestVirtualPayment is pay_sig with the method name in place of the uri', async (t) => {
  const signData = buildSignData({ offerId: '123', buyQuantity: 1, env: 0, productId: 'testproductId', goodsPrice: 10, outTradeNo: 'xxxxxx', attach: 'testdata' })
  t.equal(signData, '{"offerId":"123","buyQuantity":1,"env":0,"currencyType":"CNY","productId":"testproductId","goodsPrice":10,"outTradeNo":"xxxxxx","attach":"testdata"}',
    'the documented fields, in a fixed order')
  t.equal(virtualPaySig(DOC_APP_KEY, signData), xpayPaySig(DOC_APP_KEY, 'requestVirtualPayment', signData))
  t.not(virtualPaySig(DOC_APP_KEY, signData), virtualPaySig('54321', signData), 'another AppKey signs differently')
  t.not(virtualPaySig(DOC_APP_KEY, signData), virtualPaySig(DOC_APP_KEY, signData.replace('"goodsPrice":10', '"goodsPrice":1')), 'any changed byte changes it')
  t.not(userStateSignature(DOC_SESSION_KEY, signData), userStateSignature('AAAAAAAAAAAAAAAAAAAAAA==', signData), 'a replaced session_key signs differently')
})

t.test('signatures compare in constant time, case-insensitively, and never equal a non-string', async (t) => {
  const sig = userStateSignature(DOC_SESSION_KEY, DOC_BODY)
  t.ok(sameSignature(sig, sig.toUpperCase()))
  t.notOk(sameSignature(sig, sig.slice(1)))
  t.notOk(sameSignature(sig, undefined))
})
