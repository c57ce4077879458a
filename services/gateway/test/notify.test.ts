import t, { type Test } from 'tap'
import { headers as natsHeaders } from '@nats-io/transport-node'
import { buildEdge, call } from './helpers/edge.js'

const BODY = Buffer.from('{"id":"EV-2018022511223320873", "create_time":"2015-05-20T13:29:35+08:00",\n  "resource_type":"encrypt-resource","event_type":"TRANSACTION.SUCCESS","summary":"支付成功",\n  "resource":{"original_type":"transaction","algorithm":"AEAD_AES_256_GCM","ciphertext":"Zm9v+/=","associated_data":"","nonce":"abc"}}\n', 'utf8')

const WECHAT_HEADERS = {
  'Wechatpay-Serial': 'PUB_KEY_ID_0114232134912410000000000000',
  'Wechatpay-Signature': 'cVJ3T0ZVR0hLK2ZhS1ZrN3JkQmZ3b1N0S0RRb3M2U2JxL0tCc3pIVmZOd0FGb0tQVk1ZbmZqc3B3PT0=',
  'Wechatpay-Timestamp': String(Math.floor(Date.now() / 1000)),
  'Wechatpay-Nonce': 'fdasflkja484w',
  'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048',
  'Request-ID': '08F78BB5AF0610D302A8C6A8B20C0000'
}

interface Got { data: Buffer, headers: Record<string, string | undefined> }

async function setup (t: Test, answer: (got: Got) => { status?: number, body: unknown }) {
  const edge = await buildEdge(t)
  const got: Got[] = []
  edge.nc.subscribe(`${edge.prefix}payment.wechatNotify`, {
    callback: (_err, msg) => {
      const g: Got = { data: Buffer.from(msg.data), headers: {} }
      for (const k of [...Object.keys(WECHAT_HEADERS), 'x-user-id', 'traceparent']) g.headers[k] = msg.headers?.get(k) || undefined
      got.push(g)
      const a = answer(g)
      const h = natsHeaders()
      if (a.status !== undefined) { h.set('Nats-Service-Error-Code', String(a.status)); h.set('Nats-Service-Error', 'failed') }
      msg.respond(JSON.stringify(a.body), { headers: h })
    }
  })
  await edge.nc.flush()
  return { edge, got }
}

t.test('a WeChat Pay notification reaches payment byte for byte with its Wechatpay headers, and WeChat gets SUCCESS', async (t) => {
  const { edge, got } = await setup(t, () => ({ body: { ok: true } }))
  const res = await call(`${edge.base}/v1/payments/wechat/notify`, { method: 'POST', body: BODY, headers: { 'content-type': 'application/json', ...WECHAT_HEADERS, 'x-user-id': 'forged' } })
  t.equal(res.status, 200)
  t.same(res.json(), { code: 'SUCCESS', message: 'OK' })
  t.equal(got.length, 1)
  t.ok(got[0]?.data.equals(BODY), 'body bytes identical, whitespace and UTF-8 included')
  for (const [k, v] of Object.entries(WECHAT_HEADERS)) t.equal(got[0]?.headers[k], v, k)
  t.equal(got[0]?.headers['x-user-id'], undefined, 'no identity on a public callback')
  t.match(got[0]?.headers.traceparent, /^00-[0-9a-f]{32}-/)

  const text = await call(`${edge.base}/v1/payments/wechat/notify`, { method: 'POST', body: 'not json at all', headers: { 'content-type': 'text/plain', ...WECHAT_HEADERS } })
  t.equal(text.status, 200, 'any content type passes through unparsed: payment judges it')
  t.equal(got[1]?.data.toString(), 'not json at all')
})

t.test('payment refusing a notification answers WeChat with its status and FAIL, so WeChat retries', async (t) => {
  const { edge } = await setup(t, () => ({ status: 401, body: { error: { code: 'SIGNATURE_INVALID', message: 'Signature does not verify' } } }))
  const res = await call(`${edge.base}/v1/payments/wechat/notify`, { method: 'POST', body: BODY, headers: WECHAT_HEADERS })
  t.equal(res.status, 401)
  t.same(res.json(), { code: 'FAIL', message: 'Signature does not verify' })
})

t.test('payment failing or absent answers 5xx FAIL without internal detail', async (t) => {
  const { edge } = await setup(t, () => ({ status: 500, body: { error: { code: 'INTERNAL', message: 'db exploded at line 4' } } }))
  const res = await call(`${edge.base}/v1/payments/wechat/notify`, { method: 'POST', body: BODY, headers: WECHAT_HEADERS })
  t.equal(res.status, 500)
  t.same(res.json(), { code: 'FAIL', message: 'Internal error' })

  const lonely = await buildEdge(t)
  const none = await call(`${lonely.base}/v1/payments/wechat/notify`, { method: 'POST', body: BODY, headers: WECHAT_HEADERS })
  t.equal(none.status, 503)
  t.equal(none.json().code, 'FAIL')
  const empty = await call(`${lonely.base}/v1/payments/wechat/notify`, { method: 'POST', headers: WECHAT_HEADERS })
  t.equal(empty.status, 400)
  const huge = await call(`${lonely.base}/v1/payments/wechat/notify`, { method: 'POST', body: Buffer.alloc(70000, 'a'), headers: WECHAT_HEADERS })
  t.equal(huge.status, 413, 'over the route\'s body limit')
})
