import { createSign, createVerify, randomBytes } from 'node:crypto'
import type { RunningSimulator } from '../../src/testing.js'

export interface Res { status: number, headers: Headers, text: string, json: any }

export async function call (url: string, init: RequestInit = {}): Promise<Res> {
  const res = await fetch(url, init)
  const text = await res.text()
  let json: unknown
  try { json = JSON.parse(text) } catch { json = undefined }
  return { status: res.status, headers: res.headers, text, json }
}

export async function post (url: string, body: unknown): Promise<Res> {
  return await call(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
}

/** A merchant request signed with node:crypto directly, the way the WeChat Pay docs describe it. */
export async function payCall (sim: RunningSimulator, method: 'GET' | 'POST', pathWithQuery: string, body?: unknown, tweak: { timestamp?: number, serial?: string, key?: string } = {}): Promise<Res> {
  const text = body === undefined ? '' : JSON.stringify(body)
  const timestamp = String(tweak.timestamp ?? Math.floor(Date.now() / 1000))
  const nonce = randomBytes(16).toString('hex')
  const signature = createSign('RSA-SHA256').update(`${method}\n${pathWithQuery}\n${timestamp}\n${nonce}\n${text}\n`).sign(tweak.key ?? sim.keys.merchantPrivateKeyPem, 'base64')
  const authorization = `WECHATPAY2-SHA256-RSA2048 mchid="${sim.keys.mchid}",nonce_str="${nonce}",signature="${signature}",timestamp="${timestamp}",serial_no="${tweak.serial ?? sim.keys.merchantSerialNo}"`
  const headers: Record<string, string> = { authorization, accept: 'application/json' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  return await call(sim.url + pathWithQuery, { method, headers, ...(body === undefined ? {} : { body: text }) })
}

/** Whether a response carries WeChat Pay's signature by the simulator's key over its exact body. */
export function signedBySim (sim: RunningSimulator, headers: Headers | Record<string, string | string[] | undefined>, body: string): boolean {
  const get = (n: string): string => headers instanceof Headers ? headers.get(n) ?? '' : String(headers[n] ?? '')
  if (get('wechatpay-serial') !== sim.keys.wechatpayPublicKeyId) return false
  return createVerify('RSA-SHA256').update(`${get('wechatpay-timestamp')}\n${get('wechatpay-nonce')}\n${body}\n`).verify(sim.keys.wechatpayPublicKeyPem, get('wechatpay-signature'), 'base64')
}

export function prepayBody (sim: RunningSimulator, outTradeNo: string, notifyUrl: string, total = 100, openid = 'oUser000000000000000000000001'): Record<string, unknown> {
  return {
    appid: sim.keys.appid,
    mchid: sim.keys.mchid,
    description: 'Test product',
    out_trade_no: outTradeNo,
    notify_url: notifyUrl,
    amount: { total, currency: 'CNY' },
    payer: { openid }
  }
}
