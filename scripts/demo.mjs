#!/usr/bin/env node
// `npm run demo`: plays a mini-program's whole journey against a running stack (`npm start`), through the
// WeChat simulator's phone-side API and the public HTTPS API, narrating every step. Exits non-zero on the
// first wrong answer.
import https from 'node:https'
import http from 'node:http'
import { spawnSync } from 'node:child_process'
import { createHmac, randomUUID } from 'node:crypto'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const { values: opts } = parseArgs({
  options: {
    gateway: { type: 'string', default: 'https://localhost:8443' },
    sim: { type: 'string', default: 'http://localhost:9100' },
    ca: { type: 'string', default: join(root, '.dev', 'tls', 'cert.pem') },
    quiet: { type: 'boolean', default: false },
    // An admin made on the console (pnpm --filter @wxmp/auth admin:create), who creates the staff member of the
    // merchant's steps. Its TOTP is enrolled on the first run and the secret kept in admin-totp-file for the next.
    'admin-username': { type: 'string', default: process.env.WXMP_DEMO_ADMIN_USERNAME ?? 'demo-admin' },
    'admin-password': { type: 'string', default: process.env.WXMP_DEMO_ADMIN_PASSWORD },
    'admin-totp-file': { type: 'string', default: process.env.WXMP_DEMO_ADMIN_TOTP_FILE ?? join(root, '.dev', 'demo-admin-totp') }
  }
})
const ca = existsSync(opts.ca) ? readFileSync(opts.ca) : undefined
const tty = process.stdout.isTTY && !opts.quiet
const paint = (code, s) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s)

// What a reader of the demo must never see in full.
const SECRET = new Set(['accessToken', 'refreshToken', 'code', 'paySign', 'package', 'secret', 'otpauthUrl', 'authorization', 'password', 'totp'])
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

const totpStep = (now = Date.now()) => Math.floor(now / 30_000)

/** The RFC 6238 code (SHA-1, 30 s, 6 digits) of a base32 secret for a time step, as an authenticator app shows it. */
function totp (secret, step = totpStep()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const c of secret.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0')
  const key = Buffer.from((bits.match(/.{8}/g) ?? []).map((b) => parseInt(b, 2)))
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(step))
  const h = createHmac('sha1', key).update(counter).digest()
  const o = h[h.length - 1] & 0x0f
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0')
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

/**
 * Signs a password account in with TOTP, enrolling it first when `secret` is unknown: a staff or admin account
 * without TOTP only gets a buyer's session, in which it enrols, then signs in again with a code. Returns the session
 * and the secret. A code is accepted once, so the sign-in after enrolling uses the next 30-second step's code.
 */
async function signInWithTotp (who, username, password, known) {
  // Auth accepts a code once and the next step's code too: a sign-in right after another one uses a later step.
  let { secret, lastStep = -1 } = known ?? {}
  if (secret === undefined) {
    const first = await expect(`${who}: sign in with the password alone: only a buyer's session without TOTP`, G, 'POST', '/v1/auth/password/login', {
      body: { username, password }, check: (b) => typeof b.accessToken === 'string'
    })
    const bearer = { authorization: `Bearer ${first.accessToken}` }
    const enrolled = await expect(`${who}: enrol an authenticator (TOTP)`, G, 'POST', '/v1/auth/mfa/totp/enroll', { headers: bearer, body: {}, check: (b) => typeof b.secret === 'string' })
    secret = enrolled.secret
    lastStep = totpStep()
    await expect(`${who}: confirm it with a first code`, G, 'POST', '/v1/auth/mfa/totp/verify', { headers: bearer, body: { code: totp(secret, lastStep) }, check: (b) => b.enabled === true })
  }
  while (lastStep + 1 > totpStep() + 1) await new Promise((resolve) => setTimeout(resolve, 1000))
  const step = Math.max(totpStep(), lastStep + 1)
  const login = await expect(`${who}: sign in with password + TOTP`, G, 'POST', '/v1/auth/password/login', {
    body: { username, password, totp: totp(secret, step) },
    check: (b) => typeof b.accessToken === 'string'
  })
  return { auth: { authorization: `Bearer ${login.accessToken}` }, secret, lastStep: step }
}

/**
 * The merchant's side: the console-made admin signs in (with TOTP) and creates a staff member, who enrols TOTP and
 * signs in with it. Staff tokens need the TOTP, and money actions a recent one (the step-up window).
 */
/**
 * Against the local stack of `npm start` (which wrote .dev/dev.env), with no admin given: the demo's own admin, made
 * once on the console as a deployment would (auth's admin:create, with auth's dev settings and NATS identity), its
 * name and password kept in .dev/demo-admin.json for the next runs. A new name each time the file is missing, since
 * the database may outlive .dev/.
 */
function localAdmin () {
  const envFile = join(root, '.dev', 'dev.env')
  const natsEnv = join(root, '.dev', 'nats', 'auth.env')
  const kept = join(root, '.dev', 'demo-admin.json')
  if (existsSync(kept)) return JSON.parse(readFileSync(kept, 'utf8'))
  if (!existsSync(envFile) || !existsSync(natsEnv)) return undefined
  const admin = { username: `demo-admin-${randomUUID().slice(0, 8)}`, password: `demo-${randomUUID()}` }
  const made = spawnSync(process.execPath, [`--env-file=${envFile}`, `--env-file=${natsEnv}`, join(root, 'services', 'auth', 'dist', 'cli', 'create-admin.js'), '--username', admin.username], {
    input: admin.password + '\n', encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'warn' }
  })
  if (made.status !== 0) {
    console.error(paint(31, `✗ could not create the demo's admin: ${made.stderr.trim()}`))
    process.exit(1)
  }
  console.log(`${paint(2, '·')} Console: ${made.stdout.trim()}`)
  writeFileSync(kept, JSON.stringify(admin) + '\n', { mode: 0o600 })
  rmSync(opts['admin-totp-file'], { force: true })
  return admin
}

async function staffSignIn () {
  let username = opts['admin-username']
  let password = opts['admin-password']
  if (!password) {
    const local = localAdmin()
    if (local !== undefined) ({ username, password } = local)
  }
  if (!password) {
    console.error(paint(31, `✗ the merchant's steps need an admin: create one once with
    pnpm --filter @wxmp/auth admin:create --username ${username} < password-file
  and run the demo with --admin-password (or WXMP_DEMO_ADMIN_PASSWORD; --admin-username, default ${username})`))
    process.exit(1)
  }
  // The admin's TOTP secret and the last time step used, kept between runs (a developer's machine: .dev/).
  const file = opts['admin-totp-file']
  const known = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined
  const admin = await signInWithTotp('Admin', username, password, known)
  writeFileSync(file, JSON.stringify({ secret: admin.secret, lastStep: admin.lastStep }) + '\n', { mode: 0o600 })
  const staff = { username: `staff-${randomUUID().slice(0, 8)}`, password: randomUUID() }
  await expect('Admin: create a staff account', G, 'POST', '/v1/admin/staff', {
    headers: admin.auth, body: { ...staff, role: 'staff' }, status: 201, check: (b) => b.role === 'staff' && b.totpEnabled === false
  })
  return (await signInWithTotp('Staff', staff.username, staff.password, undefined)).auth
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
// The buyer asks for a refund; the merchant decides (issue #14): nothing reaches WeChat Pay until staff approve.
const asked = await expect('Ask for a refund (Idempotency-Key): recorded, waiting for the merchant', G, 'POST', `/v1/payments/orders/${created.id}/refund-requests`, {
  headers: { ...auth, 'idempotency-key': randomUUID() },
  body: { amount: created.amount, reason: '不想要了' },
  status: 201,
  check: (b) => b.request.status === 'REQUESTED' && b.order.status === 'REFUND_REQUESTED'
})
await expect('A buyer cannot approve it: staff only', G, 'POST', `/v1/admin/refund-requests/${asked.request.id}/approve`, {
  headers: auth, status: 403, check: (b) => b.error?.code === 'FORBIDDEN'
})
const staffAuth = await staffSignIn()
await expect('Staff: the orders waiting for a refund decision', G, 'GET', '/v1/admin/orders?status=REFUND_REQUESTED&limit=100', {
  headers: staffAuth, check: (b) => b.orders.some((o) => o.id === created.id)
})
await expect('Staff: approve the refund request (password + TOTP within the step-up window)', G, 'POST', `/v1/admin/refund-requests/${asked.request.id}/approve`, {
  headers: staffAuth, check: (b) => b.request.status === 'APPROVED' && b.refund?.status === 'PROCESSING' && b.order.status === 'REFUNDING'
})
await until('the refund settling', async () => (await request(G, 'GET', `/v1/payments/orders/${created.id}`, { headers: auth })).body, (b) => b?.status === 'REFUNDED')
await expect('The order is REFUNDED', G, 'GET', `/v1/payments/orders/${created.id}`, { headers: auth, check: (b) => b.status === 'REFUNDED' })
await expect('Staff: its history, from checkout to the refund', G, 'GET', `/v1/admin/orders/${created.id}`, {
  headers: staffAuth, check: (b) => b.transitions.map((x) => x.to).join(' ') === 'PENDING PAID REFUND_REQUESTED REFUNDING REFUNDED'
})

// A physical order: staff ship it, the buyer confirms receipt, WeChat settles the money to the merchant (issue #13).
const physical = await expect('Order a physical product', G, 'POST', '/v1/payments/orders', {
  headers: { ...auth, 'idempotency-key': randomUUID() }, body: { productId: 'latte', quantity: 1 }, status: 201
})
await expect('Phone: pay it', S, 'POST', '/sim/pay', { body: { outTradeNo: physical.outTradeNo, result: 'SUCCESS' } })
await until('the order becoming PAID', async () => (await request(G, 'GET', `/v1/payments/orders/${physical.id}`, { headers: auth })).body, (b) => b?.status === 'PAID')
await expect('Staff: ship it with carrier and tracking number (reported to WeChat\'s shipping management)', G, 'POST', `/v1/admin/orders/${physical.id}/ship`, {
  headers: staffAuth, body: { expressCompany: 'SF', trackingNo: `SF${Date.now()}`, receiverContact: '138****8000' },
  check: (b) => b.shipment === 'reported' && b.order.status === 'SHIPPED'
})
await expect('Phone: confirm receipt (simulator); WeChat settles and pushes it', S, 'POST', '/sim/confirm-receipt', { body: { outTradeNo: physical.outTradeNo } })
await until('the order being SETTLED', async () => (await request(G, 'GET', `/v1/payments/orders/${physical.id}`, { headers: auth })).body, (b) => b?.status === 'SETTLED')
await expect('The order is SETTLED: the money reached the merchant', G, 'GET', `/v1/payments/orders/${physical.id}`, { headers: auth, check: (b) => b.status === 'SETTLED' })

const unpaid = await expect('Order something, then change your mind', G, 'POST', '/v1/payments/orders', {
  headers: { ...auth, 'idempotency-key': randomUUID() }, body: { productId: product.id, quantity: 1 }, status: 201
})
await expect('Cancel the unpaid order (closed at WeChat Pay first)', G, 'POST', `/v1/payments/orders/${unpaid.id}/cancel`, {
  headers: auth, check: (b) => b.status === 'CLOSED'
})

// Virtual goods are sold on WeChat's virtual payment, as WeChat requires (issue #15).
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
