import t from 'tap'
import { createSign, generateKeyPairSync } from 'node:crypto'
import { startSimulator, type RunningSimulator } from '../src/testing.js'
import { call, payCall, post, prepayBody } from './helpers/http.js'

const NOTIFY = 'https://merchant.example/notify'

/** The merchant's side: prepay, then the wx.requestPayment parameters signed as the payment service signs them. */
async function placed (sim: RunningSimulator, outTradeNo: string, key = sim.keys.merchantPrivateKeyPem): Promise<Record<string, string>> {
  const prepay = await payCall(sim, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sim, outTradeNo, NOTIFY))
  const params = { timeStamp: String(Math.floor(Date.now() / 1000)), nonceStr: 'n0nce5tr1ng000000000000000000000', package: `prepay_id=${prepay.json.prepay_id as string}`, signType: 'RSA' }
  const paySign = createSign('RSA-SHA256').update(`${sim.keys.appid}\n${params.timeStamp}\n${params.nonceStr}\n${params.package}\n`).sign(key, 'base64')
  return { ...params, paySign }
}

const tradeState = async (sim: RunningSimulator, outTradeNo: string): Promise<string> =>
  (await payCall(sim, 'GET', `/v3/pay/transactions/out-trade-no/${outTradeNo}?mchid=${sim.keys.mchid}`)).json.trade_state

t.test('wx.requestPayment with the merchant\'s paySign pays the order and sends the notification', async (t) => {
  const sim = await startSimulator(t)
  const sheet = await placed(sim, 'ORDERSHEET01')
  const res = await post(`${sim.url}/sim/request-payment`, sheet)
  t.equal(res.status, 200)
  t.equal(res.json.errMsg, 'requestPayment:ok')
  t.equal(await tradeState(sim, 'ORDERSHEET01'), 'SUCCESS')
  const notes = await call(`${sim.url}/sim/notifications?subject=ORDERSHEET01`)
  t.equal(notes.json.notifications.length, 1, 'WeChat Pay notifies the merchant')
  const again = await post(`${sim.url}/sim/request-payment`, sheet)
  t.equal(again.json.errMsg, 'requestPayment:fail 该订单已支付', 'a paid order cannot be paid twice')
})

t.test('a wrong paySign is caught: the sheet never opens and nothing is paid', async (t) => {
  const sim = await startSimulator(t)
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const forged = await placed(sim, 'ORDERSHEET02', stranger)
  t.equal((await post(`${sim.url}/sim/request-payment`, forged)).json.errMsg, 'requestPayment:fail 支付验证签名失败', 'signed by another key')
  const honest = await placed(sim, 'ORDERSHEET03')
  const tampered = { ...honest, timeStamp: String(Number(honest.timeStamp) + 1) }
  t.equal((await post(`${sim.url}/sim/request-payment`, tampered)).json.errMsg, 'requestPayment:fail 支付验证签名失败', 'a changed timeStamp breaks the signature')
  const otherPackage = { ...honest, package: forged.package }
  t.equal((await post(`${sim.url}/sim/request-payment`, otherPackage)).json.errMsg, 'requestPayment:fail 支付验证签名失败', 'a signature does not carry over to another prepay_id')
  const md5 = { ...honest, signType: 'MD5' }
  t.match((await post(`${sim.url}/sim/request-payment`, md5)).json.errMsg, /^requestPayment:fail parameter error: signType/)
  t.equal(await tradeState(sim, 'ORDERSHEET02'), 'NOTPAY')
  t.equal(await tradeState(sim, 'ORDERSHEET03'), 'NOTPAY')
})

t.test('the buyer closing the sheet answers fail cancel and leaves the order unpaid', async (t) => {
  const sim = await startSimulator(t)
  const sheet = await placed(sim, 'ORDERSHEET04')
  const res = await post(`${sim.url}/sim/request-payment`, { ...sheet, action: 'cancel' })
  t.equal(res.json.errMsg, 'requestPayment:fail cancel')
  t.equal(await tradeState(sim, 'ORDERSHEET04'), 'NOTPAY')
})

t.test('a prepay_id lives SIM_PREPAY_TTL_SECONDS: after that the sheet refuses it, and the same order placed again gets a new one that pays', async (t) => {
  const sim = await startSimulator(t, { SIM_PREPAY_TTL_SECONDS: '1' })
  const first = await placed(sim, 'ORDERSHEET04')
  // WeChat's two hours, scaled down to one second: the prepay_id was issued before `placed` returned.
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const stale = await post(`${sim.url}/sim/request-payment`, first)
  t.equal(stale.json.errMsg, 'requestPayment:fail prepay_id is invalid', 'an expired prepay_id does not open the sheet')
  const renewed = await placed(sim, 'ORDERSHEET04')
  t.not(renewed.package, first.package, 'the same order placed again: a new prepay_id')
  t.equal((await post(`${sim.url}/sim/request-payment`, renewed)).json.errMsg, 'requestPayment:ok')
  t.equal(await tradeState(sim, 'ORDERSHEET04'), 'SUCCESS')
})
