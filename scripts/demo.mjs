#!/usr/bin/env node
// `npm run demo`: plays a mini-program's whole journey against a running stack (`npm start`), through the
// WeChat simulator's phone-side API and the public HTTPS API, narrating every step. Exits non-zero on the
// first wrong answer.
import https from 'node:https'
import http from 'node:http'
import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const { values: opts } = parseArgs({
  options: {
    gateway: { type: 'string', default: 'https://localhost:8443' },
    sim: { type: 'string', default: 'http://localhost:9100' },
    ca: { type: 'string', default: join(root, '.dev', 'tls', 'cert.pem') },
    quiet: { type: 'boolean', default: false }
  }
})
const ca = existsSync(opts.ca) ? readFileSync(opts.ca) : undefined
const tty = process.stdout.isTTY && !opts.quiet
const paint = (code, s) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s)

// What a reader of the demo must never see in full.
const SECRET = new Set(['accessToken', 'refreshToken', 'code', 'paySign', 'package', 'secret', 'otpauthUrl', 'authorization'])
function mask (value, key) {
  if (Array.isArray(value)) return value.map((v) => mask(v))
  if (value === null || typeof value !== 'object') return value
  // An error envelope's code is a catalogue name, not a secret.
  if (key === 'error') return value
  return Object.fromEntries(Object.entries(value).map(([k, v]) =>
    [k, SECRET.has(k) && typeof v === 'string' ? `${v.slice(0, 6)}…(${v.length} chars)` : mask(v, k)]))
}

function request (base, method, path, { body, headers = {} } = {}) {
  const url = new URL(path, base)
  const mod = url.protocol === 'https:' ? https : http
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const req = mod.request(url, {
      method,
      ca,
      headers: { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...headers }
    }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c) => { text += c })
      res.on('end', () => {
        let json
        try { json = text === '' ? undefined : JSON.parse(text) } catch { json = text }
        resolve({ status: res.statusCode, headers: res.headers, body: json, ms: performance.now() - started })
      })
    })
    req.on('error', reject)
    if (payload !== undefined) req.write(payload)
    req.end()
  })
}

let step = 0
async function expect (title, base, method, path, { body, headers, status = 200, check } = {}) {
  step++
  const res = await request(base, method, path, { body, headers }).catch((err) => {
    console.error(paint(31, `✗ ${step}. ${title}: ${method} ${new URL(path, base)} failed: ${err.message}`))
    process.exit(1)
  })
  const traceId = typeof res.headers.traceparent === 'string' ? res.headers.traceparent.split('-')[1] : '-'
  const ok = res.status === status && (check === undefined || check(res.body))
  console.log(`${paint(ok ? 32 : 31, ok ? '✓' : '✗')} ${step}. ${paint(1, title)}  ${paint(2, `${res.ms.toFixed(1)} ms  trace_id=${traceId}`)}`)
  console.log(`   → ${method} ${path}${body === undefined ? '' : ' ' + JSON.stringify(mask(body))}${headers?.['idempotency-key'] ? `  Idempotency-Key: ${headers['idempotency-key']}` : ''}`)
  console.log(`   ← ${res.status} ${JSON.stringify(mask(res.body))?.slice(0, 400) ?? ''}`)
  if (!ok) {
    console.error(paint(31, `   expected ${status}${check === undefined ? '' : ' and a matching body'}; stopping (grep the service logs for trace_id=${traceId})`))
    process.exit(1)
  }
  return res.body
}

async function until (title, fn, pred, tries = 50) {
  for (let i = 0; i < tries; i++) {
    const body = await fn(i === tries - 1)
    if (pred(body)) return body
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  console.error(paint(31, `✗ ${title} did not happen`))
  process.exit(1)
}

const G = opts.gateway
const S = opts.sim
console.log(paint(1, `wxmp demo: gateway ${G}, WeChat simulator ${S}`))

await expect('The stack answers through every service', G, 'GET', '/v1/ping')
const wx = await expect('Phone: wx.login (simulator)', S, 'POST', '/sim/wx-login', { body: {}, check: (b) => typeof b.code === 'string' })
const login = await expect('Log in with the code', G, 'POST', '/v1/auth/wechat/login', { body: { code: wx.code }, check: (b) => b.tokenType === 'Bearer' && !('sessionKey' in b) })
const auth = { authorization: `Bearer ${login.accessToken}` }
await expect('The same code again at once (a client retry): the same session, one WeChat call', G, 'POST', '/v1/auth/wechat/login', { body: { code: wx.code }, status: 200, check: (b) => b.user.id === login.user.id })
await expect('Read my profile', G, 'GET', '/v1/users/me', { headers: auth, check: (b) => b.id === login.user.id })
await expect('Set a nickname', G, 'PATCH', '/v1/users/me', { headers: auth, body: { nickname: '小程序用户' }, check: (b) => b.nickname === '小程序用户' })
const phone = await expect('Phone: getPhoneNumber button (simulator)', S, 'POST', '/sim/phone-code', { body: { openid: wx.openid, phoneNumber: '13800138000' } })
await expect('Bind the phone (shown masked)', G, 'POST', '/v1/auth/wechat/phone', { headers: auth, body: { code: phone.code }, check: (b) => b.phone === '138****8000' })
const products = await expect('The catalog (prices in fen)', G, 'GET', '/v1/payments/products', { check: (b) => Array.isArray(b) && b.length > 0 })
// Two rails: physical goods (the latte) are paid with JSAPI WeChat Pay, virtual goods (vip-month) with WeChat's
// virtual payment, as WeChat requires.
const product = products.find((p) => p.id === 'latte') ?? products[0]
const orderKey = randomUUID()
const created = await expect('Create an order for physical goods on JSAPI (Idempotency-Key)', G, 'POST', '/v1/payments/orders', {
  headers: { ...auth, 'idempotency-key': orderKey },
  body: { productId: product.id, quantity: 2 },
  status: 201,
  check: (b) => b.amount === product.price * 2 && b.status === 'PENDING' && b.payParams?.signType === 'RSA'
})
await expect('Retry with the same key: the same order, not a second one', G, 'POST', '/v1/payments/orders', {
  headers: { ...auth, 'idempotency-key': orderKey },
  body: { productId: product.id, quantity: 2 },
  status: 201,
  check: (b) => b.id === created.id && b.outTradeNo === created.outTradeNo
})
await expect('Phone: pay in WeChat (simulator sends the signed notification)', S, 'POST', '/sim/pay', { body: { outTradeNo: created.outTradeNo, result: 'SUCCESS' } })
await until('the order becoming PAID', async () => (await request(G, 'GET', `/v1/payments/orders/${created.id}`, { headers: auth })).body, (b) => b?.status === 'PAID')
await expect('The order is PAID', G, 'GET', `/v1/payments/orders/${created.id}`, { headers: auth, check: (b) => b.status === 'PAID' })
await expect('Refund it in full', G, 'POST', `/v1/payments/orders/${created.id}/refunds`, {
  headers: { ...auth, 'idempotency-key': randomUUID() }, body: { amount: created.amount, reason: 'demo' }, status: 201
})
await until('the refund settling', async () => (await request(G, 'GET', `/v1/payments/orders/${created.id}`, { headers: auth })).body, (b) => b?.status === 'REFUNDED')
await expect('The order is REFUNDED', G, 'GET', `/v1/payments/orders/${created.id}`, { headers: auth, check: (b) => b.status === 'REFUNDED' })
const vip = await expect('Order virtual goods (vip-month): the answer is what wx.requestVirtualPayment takes', G, 'POST', '/v1/payments/orders', {
  headers: { ...auth, 'idempotency-key': randomUUID() },
  body: { productId: 'vip-month', quantity: 1 },
  status: 201,
  check: (b) => b.rail === 'virtual' && typeof b.virtualPayment?.signData === 'string' && /^[0-9a-f]{64}$/.test(b.virtualPayment.paySig) && /^[0-9a-f]{64}$/.test(b.virtualPayment.signature) && !('payParams' in b)
})
await expect('Phone: wx.requestVirtualPayment (the simulator checks paySig and the user-state signature, then pushes xpay_goods_deliver_notify)', S, 'POST', '/sim/virtual-pay', {
  body: { openid: wx.openid, ...vip.virtualPayment },
  check: (b) => b.errMsg === 'requestVirtualPayment:ok'
})
await until('the virtual order becoming PAID (the deliver push)', async () => (await request(G, 'GET', `/v1/payments/orders/${vip.id}`, { headers: auth })).body, (b) => b?.status === 'PAID')
await expect('The virtual order is PAID and its goods delivered', G, 'GET', `/v1/payments/orders/${vip.id}`, { headers: auth, check: (b) => b.status === 'PAID' && b.rail === 'virtual' })
await expect('Log out', G, 'POST', '/v1/auth/logout', { headers: auth, body: {} })
await expect('The old access token is refused at once', G, 'GET', '/v1/users/me', { headers: auth, status: 401, check: (b) => typeof b.error?.code === 'string' })
console.log(paint(32, `\nAll ${step} steps answered as expected.`))
