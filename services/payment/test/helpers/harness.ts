import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createCipheriv, createSign, randomBytes, randomUUID } from 'node:crypto'
import type { TraceContext } from '@wxmp/core'
import { Subjects, type CreateOrderReply, type RefundOrderReply } from '@wxmp/contracts'
import type { NatsClient } from '@wxmp/nats'
import { buildTestService, clientAs, connectOperator, readEvents, type TestService } from '@wxmp/service/testing'
import { callerContext, eventually, natsPrefix, type Teardown } from '@wxmp/testing'
import userApp from '@wxmp/user/app'
import { ConfigSchema as UserConfig } from '@wxmp/user/config'
import { startSimulator, type RunningSimulator } from '@wxmp/wechat-sim/testing'
import app from '../../src/app.js'
import { ConfigSchema } from '../../src/config.js'

/** One notification as it reached the merchant: the exact bytes and the headers WeChat Pay signed them with. */
export interface Delivery { body: Buffer, headers: Record<string, string> }

const WECHATPAY_HEADERS = ['Wechatpay-Serial', 'Wechatpay-Signature', 'Wechatpay-Timestamp', 'Wechatpay-Nonce', 'Wechatpay-Signature-Type', 'Request-ID']

/**
 * The merchant's notify URL for service tests: does what the gateway's POST /v1/payments/wechat/notify does (raw
 * bytes and Wechatpay-* headers to payment.wechatNotify, 200 or the service's status back) and keeps every delivery
 * so a test can replay it. The gateway's own route is exercised end to end in services/gateway/test/payments.
 */
export interface NotifyRelay {
  url: string
  deliveries: Delivery[]
  /** Sends a delivery (or any bytes and headers) to the payment service the way the gateway would. */
  send: (d: Delivery) => Promise<{ status: number, code?: string }>
}

export async function notifyRelay (t: Teardown, client: () => NatsClient): Promise<NotifyRelay> {
  const deliveries: Delivery[] = []
  const send = async (d: Delivery): Promise<{ status: number, code?: string }> => {
    const headers: Record<string, string> = {}
    for (const name of WECHATPAY_HEADERS) {
      const v = d.headers[name.toLowerCase()]
      if (v !== undefined) headers[name] = v
    }
    try {
      await client().request(Subjects.payment.wechatNotify, d.body, undefined, { raw: true, headers, timeoutMs: 10_000 })
      return { status: 200 }
    } catch (err) {
      const e = err as { statusCode?: number, code?: string }
      return { status: e.statusCode ?? 500, ...(e.code === undefined ? {} : { code: e.code }) }
    }
  }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const d: Delivery = { body: Buffer.concat(chunks), headers: req.headers as Record<string, string> }
      deliveries.push(d)
      void send(d).then(({ status }) => {
        res.statusCode = status
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify(status === 200 ? { code: 'SUCCESS', message: 'OK' } : { code: 'FAIL', message: 'not accepted' }))
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }) })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/payments/wechat/notify`, deliveries, send }
}

export interface PaymentHarness {
  prefix: string
  sim: RunningSimulator
  payment: TestService<typeof ConfigSchema>
  user: TestService<typeof UserConfig>
  relay: NotifyRelay
  /** The payment service's env, to start another instance on the same database. */
  env: Record<string, string>
  /** A WeChat user of the simulator's app, created through the real user service. */
  newUser: () => Promise<string>
  /** A NATS call as the gateway makes it for a signed-in user. */
  as: (userId: string) => TraceContext
  call: <T>(subject: string, body: unknown, userId?: string) => Promise<T>
  /**
   * A staff member's call as the gateway makes it: role `staff` (or as given), a password + TOTP sign-in `authAgeS`
   * seconds ago (default: just now), so money actions pass their step-up check.
   */
  staff: (userId?: string, opts?: { role?: string, authAgeS?: number, amr?: string[] }) => TraceContext
  /** A NATS call as the gateway with any caller context (staff, or headers missing). */
  callAs: <T>(subject: string, body: unknown, ctx: TraceContext | undefined) => Promise<T>
  createOrder: (userId: string, body?: { productId?: string, quantity?: number }, key?: string) => Promise<CreateOrderReply>
  /** A refund on the merchant's initiative, by staff member `staffId` (whose Idempotency-Keys these are). */
  refund: (staffId: string, orderId: string, amount: number, key?: string) => Promise<RefundOrderReply>
  /** The phone pays at the simulator, which notifies the merchant. */
  pay: (outTradeNo: string) => Promise<{ notificationId: string, transactionId: string }>
  /** The simulator's test API; `http` is the response status, the rest its JSON body. */
  sim_: (path: string, body?: unknown, method?: string) => Promise<any>
  /** The order row as stored, for assertions. */
  row: (orderId: string) => Promise<Record<string, any>>
  transitions: (orderId: string) => Promise<Array<{ from_status: string | null, to_status: string, cause: string }>>
  events: (subject: string, atLeast?: number) => Promise<Array<Record<string, unknown>>>
  /** Polls until `check` holds (effects that travel: notifications, the outbox). */
  until: <T>(fn: () => Promise<T>, check: (v: T) => boolean, ms?: number) => Promise<T>
}

export interface HarnessOptions {
  /** Payment service env overrides. */
  env?: Record<string, string>
  /** Simulator env overrides. */
  sim?: Record<string, string>
  /** Notify URL override (e.g. one nobody listens on, to lose notifications). */
  notifyUrl?: string
}

/**
 * The payment service on real Postgres and NATS, the real user service beside it, and a WeChat simulator
 * in-process (the only stand-in: WeChat itself). The reconciler stays idle unless a test runs it.
 */
export async function buildPayment (t: Teardown, opts: HarnessOptions = {}): Promise<PaymentHarness> {
  const prefix = natsPrefix()
  const sim = await startSimulator(t, { SIM_REFUND_SETTLE_MS: '-1', SIM_NOTIFY_SCHEDULE: '1s', SIM_NOTIFY_SCHEDULE_SCALE: '0.05', ...opts.sim })
  const user = await buildTestService(t, { name: 'user', schema: UserConfig, app: userApp, prefix })
  // Public subjects are called as the gateway, user.ensure as auth: the callers the permission matrix admits.
  const gateway = await clientAs(t, 'gateway', prefix, 15_000)
  const auth = await clientAs(t, 'auth', prefix)
  const operator = await connectOperator(t, prefix)
  // The relay calls from its own connection (the gateway's, on the same prefix), as the gateway does: it keeps
  // working while payment instances stop and start.
  const relay = await notifyRelay(t, () => gateway)
  const env = {
    ...sim.env,
    WECHATPAY_NOTIFY_URL: opts.notifyUrl ?? relay.url,
    WECHATPAY_TIMEOUT_MS: '3000',
    RECONCILE_INTERVAL_MS: '3600000',
    ...opts.env
  }
  const payment = await buildTestService(t, { name: 'payment', schema: ConfigSchema, app, prefix, env })
  const as = (userId: string): TraceContext => callerContext({ userId })
  const callAs = async <T>(subject: string, body: unknown, ctx: TraceContext | undefined): Promise<T> =>
    (await gateway.request<T>(subject, body, ctx, { timeoutMs: 15_000 })).data
  const call = async <T>(subject: string, body: unknown, userId?: string): Promise<T> => await callAs<T>(subject, body, userId === undefined ? undefined : as(userId))
  const staff = (userId: string = randomUUID(), o: { role?: string, authAgeS?: number, amr?: string[] } = {}): TraceContext =>
    ({ ...callerContext({ userId }), role: o.role ?? 'staff', authTime: Math.floor(Date.now() / 1000) - (o.authAgeS ?? 0), amr: o.amr ?? ['pwd', 'otp'] })
  const simCall = async (path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST'): Promise<any> => {
    const res = await fetch(sim.url + path, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) })
    const text = await res.text()
    return { http: res.status, ...(text === '' ? {} : JSON.parse(text)) }
  }
  const until = async <T>(fn: () => Promise<T>, check: (v: T) => boolean, ms = 10_000): Promise<T> => await eventually(fn, check, { timeoutMs: ms })
  return {
    prefix,
    sim,
    payment,
    user,
    relay,
    env: { ...env, NATS_URL: payment.config.NATS_URL, NATS_NKEY_SEED_FILE: payment.config.NATS_NKEY_SEED_FILE, NATS_SUBJECT_PREFIX: prefix, DATABASE_URL: payment.config.DATABASE_URL },
    newUser: async () => {
      const { data } = await auth.request<{ user: { id: string } }>(Subjects.user.ensure, { appid: sim.keys.appid, openid: 'o' + randomBytes(14).toString('base64url') }, undefined)
      return data.user.id
    },
    as,
    call,
    staff,
    callAs,
    createOrder: async (userId, body = {}, key = randomUUID()) =>
      await call<CreateOrderReply>(Subjects.payment.createOrder, { idempotencyKey: key, productId: body.productId ?? 'latte', quantity: body.quantity ?? 1 }, userId),
    refund: async (staffId, orderId, amount, key = randomUUID()) =>
      await callAs<RefundOrderReply>(Subjects.payment.refundOrder, { idempotencyKey: key, orderId, amount }, staff(staffId)),
    pay: async (outTradeNo) => {
      const r = await simCall('/sim/pay', { outTradeNo, result: 'SUCCESS' })
      if (r.http !== 200) throw new Error(`sim pay: ${JSON.stringify(r)}`)
      return { notificationId: r.notificationId, transactionId: r.transactionId }
    },
    sim_: simCall,
    row: async (orderId) => (await payment.app.pg.query('SELECT * FROM orders WHERE id = $1', [orderId])).rows[0],
    transitions: async (orderId) => (await payment.app.pg.query('SELECT from_status, to_status, cause FROM order_transitions WHERE order_id = $1 ORDER BY id', [orderId])).rows,
    events: async (subject, atLeast = 1) => await readEvents(operator, prefix, subject, { atLeast }),
    until
  }
}

/**
 * A notification signed with the simulator's WeChat Pay key and encrypted with the APIv3 key, with any content:
 * what only WeChat Pay (or someone holding its key) could send. For the cases the simulator never produces.
 */
export function signedNotification (sim: RunningSimulator, eventType: string, resource: Record<string, unknown>, opts: { timestamp?: number, id?: string } = {}): Delivery {
  const nonce = randomBytes(6).toString('hex')
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(sim.keys.apiV3Key, 'utf8'), Buffer.from(nonce, 'utf8'))
  cipher.setAAD(Buffer.from('transaction', 'utf8'))
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(resource), 'utf8'), cipher.final(), cipher.getAuthTag()]).toString('base64')
  const body = JSON.stringify({
    id: opts.id ?? randomUUID(),
    create_time: new Date().toISOString(),
    resource_type: 'encrypt-resource',
    event_type: eventType,
    summary: 'test',
    resource: { original_type: 'transaction', algorithm: 'AEAD_AES_256_GCM', ciphertext, associated_data: 'transaction', nonce }
  })
  return { body: Buffer.from(body, 'utf8'), headers: signatureHeaders(sim, body, opts.timestamp) }
}

/** Wechatpay-* headers over `body`, as WeChat Pay signs with the simulator's key. */
export function signatureHeaders (sim: RunningSimulator, body: string | Buffer, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const nonce = randomBytes(16).toString('hex').toUpperCase()
  const signature = createSign('RSA-SHA256').update(Buffer.concat([Buffer.from(`${timestamp}\n${nonce}\n`), Buffer.from(body), Buffer.from('\n')])).sign(sim.keys.wechatpayPrivateKeyPem, 'base64')
  return {
    'wechatpay-serial': sim.keys.wechatpayPublicKeyId,
    'wechatpay-signature': signature,
    'wechatpay-timestamp': String(timestamp),
    'wechatpay-nonce': nonce,
    'wechatpay-signature-type': 'WECHATPAY2-SHA256-RSA2048'
  }
}

/** An order the phone has paid and the service knows is PAID. */
export async function paidOrder (h: PaymentHarness, productId = 'tote-bag'): Promise<{ userId: string, orderId: string, outTradeNo: string, amount: number }> {
  const userId = await h.newUser()
  const { order } = await h.createOrder(userId, { productId })
  await h.pay(order.outTradeNo)
  await h.until(async () => (await h.row(order.id)).status, (s) => s === 'PAID')
  return { userId, orderId: order.id, outTradeNo: order.outTradeNo, amount: order.amount }
}
