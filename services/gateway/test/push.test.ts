import t, { type Test } from 'tap'
import { headers as natsHeaders } from '@nats-io/transport-node'
import { buildEdge, call } from './helpers/edge.js'

// A safe-mode push as WeChat sends it: the signatures cover the query string and these exact bytes.
const BODY = Buffer.from('{"ToUserName":"gh_97417a04a28d",\n "Encrypt":"+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04="}', 'utf8')
const QUERY = 'signature=d1fb3a9ed4d1a2dbf1c0c3c8b7e1d0a2b6c4e5f6&timestamp=1714112445&nonce=415670741&openid=o4_t144jTUSEoxydysUA2E234_tc&encrypt_type=aes&msg_signature=046e02f8204d34f8ba5fa3b1db94908f3df2e9b3'

interface Got { data: Buffer, query: string | undefined, method: string | undefined, userId: string | undefined }

async function setup (t: Test, answer: (got: Got) => { status?: number, body: unknown }) {
  const edge = await buildEdge(t)
  const got: Got[] = []
  edge.nc.subscribe(`${edge.prefix}auth.wechatPush`, {
    callback: (_err, msg) => {
      const h = (k: string): string | undefined => msg.headers?.get(k) || undefined
      const g: Got = { data: Buffer.from(msg.data), query: h('x-wechat-push-query'), method: h('x-wechat-push-method'), userId: h('x-user-id') }
      got.push(g)
      const a = answer(g)
      const headers = natsHeaders()
      if (a.status !== undefined) { headers.set('Nats-Service-Error-Code', String(a.status)); headers.set('Nats-Service-Error', 'failed') }
      msg.respond(JSON.stringify(a.body), { headers })
    }
  })
  await edge.nc.flush()
  return { edge, got }
}

t.test('a push reaches auth byte for byte with its query string, and WeChat gets auth\'s plain-text answer', async (t) => {
  const { edge, got } = await setup(t, (g) => ({ body: { body: g.method === 'GET' ? 'echo-123' : 'success', duplicate: false } }))
  const res = await call(`${edge.base}/v1/wechat/push?${QUERY}`, { method: 'POST', body: BODY, headers: { 'content-type': 'application/json', 'x-user-id': 'forged' } })
  t.equal(res.status, 200)
  t.equal(res.body, 'success')
  t.match(res.headers['content-type'], /^text\/plain/)
  t.equal(got.length, 1)
  t.ok(got[0]?.data.equals(BODY), 'body bytes identical')
  t.equal(got[0]?.query, QUERY, 'query string as sent, order and encoding kept')
  t.equal(got[0]?.method, 'POST')
  t.equal(got[0]?.userId, undefined, 'no identity on a public callback')

  const xml = await call(`${edge.base}/v1/wechat/push?${QUERY}`, { method: 'POST', body: '<xml><Encrypt><![CDATA[abc]]></Encrypt></xml>', headers: { 'content-type': 'text/xml' } })
  t.equal(xml.status, 200, 'XML passes through unparsed: auth judges it')
  t.equal(got[1]?.data.toString(), '<xml><Encrypt><![CDATA[abc]]></Encrypt></xml>')

  const check = await call(`${edge.base}/v1/wechat/push?signature=abc&timestamp=1714112445&nonce=1&echostr=echo-123`)
  t.equal(check.status, 200)
  t.equal(check.body, 'echo-123', 'the URL check answers echostr as the whole body')
  t.equal(got[2]?.method, 'GET')
})

t.test('a push auth refuses is answered with its 4xx; auth absent is 503, so WeChat retries', async (t) => {
  const { edge } = await setup(t, () => ({ status: 401, body: { error: { code: 'WECHAT_PUSH_SIGNATURE_INVALID', message: 'The message push signature did not verify' } } }))
  const res = await call(`${edge.base}/v1/wechat/push?${QUERY}`, { method: 'POST', body: BODY })
  t.equal(res.status, 401)
  t.equal(res.body, 'WECHAT_PUSH_SIGNATURE_INVALID')

  const lonely = await buildEdge(t)
  const none = await call(`${lonely.base}/v1/wechat/push?${QUERY}`, { method: 'POST', body: BODY })
  t.equal(none.status, 503)
  const huge = await call(`${lonely.base}/v1/wechat/push?${QUERY}`, { method: 'POST', body: Buffer.alloc(70000, 'a') })
  t.equal(huge.status, 413, 'over the route\'s body limit')
})
