import { createDecipheriv, createHash } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Teardown } from '@wxmp/testing'
import type { RunningSimulator } from '../../src/testing.js'
import { call, payCall, post, prepayBody, type Res } from './http.js'

export const OPENID = 'oUser000000000000000000000001'
export const PUSH_TOKEN = 'pushToken123'
export const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG'

/** A fresh access_token from the simulator's stable_token. */
export async function accessToken (sim: RunningSimulator): Promise<string> {
  const r = await post(`${sim.url}/cgi-bin/stable_token`, { grant_type: 'client_credential', appid: sim.keys.appid, secret: sim.keys.secret })
  return r.json.access_token as string
}

/** An order placed and paid through the simulator; returns its transaction_id. */
export async function paidOrder (sim: RunningSimulator, outTradeNo: string, openid = OPENID): Promise<string> {
  await payCall(sim, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sim, outTradeNo, 'https://merchant.example/notify', 100, openid))
  const paid = await post(`${sim.url}/sim/pay`, { outTradeNo, result: 'SUCCESS' })
  return paid.json.transactionId as string
}

export async function shippingApi (sim: RunningSimulator, token: string, api: string, body: unknown): Promise<Res> {
  return await call(`${sim.url}/wxa/sec/order/${api}?access_token=${encodeURIComponent(token)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) })
}

export function expressUpload (transactionId: string, tracking = 'SF1234567890', openid = OPENID): Record<string, unknown> {
  return {
    order_key: { order_number_type: 2, transaction_id: transactionId },
    logistics_type: 1,
    delivery_mode: 1,
    shipping_list: [{ tracking_no: tracking, express_company: 'SF', item_desc: '测试商品*1', contact: { consignor_contact: '189****1234' } }],
    upload_time: new Date().toISOString().replace('Z', '+00:00'),
    payer: { openid }
  }
}

export function virtualUpload (sim: RunningSimulator, outTradeNo: string, openid = OPENID): Record<string, unknown> {
  return {
    order_key: { order_number_type: 1, mchid: sim.keys.mchid, out_trade_no: outTradeNo },
    logistics_type: 3,
    delivery_mode: 1,
    shipping_list: [{ item_desc: '会员月卡' }],
    upload_time: '2026-01-02T03:04:05.678+08:00',
    payer: { openid }
  }
}

export interface ReceivedPush { query: URLSearchParams, body: string, contentType: string }

/** A merchant push URL answering `answers` in turn (then `success`), recording every request. */
export async function pushReceiver (t: Teardown, answers: Array<{ status: number, body: string }> = []): Promise<{ url: string, received: ReceivedPush[] }> {
  const received: ReceivedPush[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x')
      received.push({ query: url.searchParams, body: Buffer.concat(chunks).toString('utf8'), contentType: String(req.headers['content-type']) })
      const a = answers.shift() ?? { status: 200, body: 'success' }
      res.writeHead(a.status).end(a.body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise((resolve) => server.close(resolve)) })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/wechat/push`, received }
}

// The merchant's side of 消息加解密, written here with node:crypto alone from WeChat's description, so that the
// simulator's pushes are checked independently of the code that made them.
export const sha1Sorted = (...v: string[]): string => createHash('sha1').update([...v].sort().join('')).digest('hex')

export function openSafePush (push: ReceivedPush, appid: string): Record<string, unknown> {
  const q = push.query
  const outer = JSON.parse(push.body) as { Encrypt: string }
  if (q.get('signature') !== sha1Sorted(PUSH_TOKEN, q.get('timestamp')!, q.get('nonce')!)) throw new Error('bad signature')
  if (q.get('msg_signature') !== sha1Sorted(PUSH_TOKEN, q.get('timestamp')!, q.get('nonce')!, outer.Encrypt)) throw new Error('bad msg_signature')
  const key = Buffer.from(AES_KEY + '=', 'base64')
  const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16))
  decipher.setAutoPadding(false)
  const plain = Buffer.concat([decipher.update(Buffer.from(outer.Encrypt, 'base64')), decipher.final()])
  const unpadded = plain.subarray(0, plain.length - plain[plain.length - 1]!)
  const length = unpadded.readUInt32BE(16)
  if (unpadded.subarray(20 + length).toString() !== appid) throw new Error('wrong appid')
  return JSON.parse(unpadded.subarray(20, 20 + length).toString('utf8')) as Record<string, unknown>
}

export async function until (check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
