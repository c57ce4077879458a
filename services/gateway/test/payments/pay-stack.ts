import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { importPKCS8, SignJWT } from 'jose'
import { ACCESS_TOKEN } from '@wxmp/contracts'
import { freePort, type Teardown } from '@wxmp/testing'
import { startSimulator, type RunningSimulator } from '@wxmp/wechat-sim/testing'
import { buildStack, tlsFiles, type Stack } from '../helpers/stack.js'
import { call, eventually, type Res } from '../helpers/client.js'

export interface PayStack extends Stack {
  sim: RunningSimulator
  /** https URL of the gateway's real TLS listener, which WeChat Pay's notifications reach too. */
  url: string
  /** A new WeChat user signed in through wx.login -> /v1/auth/wechat/login; returns its access token. */
  login: () => Promise<string>
  /** A request to the gateway as that user. */
  api: (token: string, method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<Res>
  /** The simulator's phone-side API. */
  phone: (path: string, body?: unknown) => Promise<any>
}

/**
 * The whole stack on real Postgres, Redis, NATS and TLS, with a WeChat simulator that delivers pay and refund
 * notifications to the gateway's own notify route (trusting its self-signed certificate).
 */
export async function buildPayStack (t: Teardown, opts: { payment?: Record<string, string>, sim?: Record<string, string>, auth?: Record<string, string>, simPushPath?: string, pushes?: boolean } = {}): Promise<PayStack> {
  const tls = await tlsFiles()
  // The notify URL is part of the payment service's config, so the gateway's port is chosen before either starts.
  const port = await freePort()
  // With `pushes`, the simulator's message push (shipping reminders, settlements) reaches the gateway's push route in
  // plain mode with a token of this stack's; with `simPushPath`, it reaches that path and the test sets the rest.
  const push = opts.pushes === true ? { token: 'wxmppaystackpush' } : undefined
  const sim = await startSimulator(t, {
    SIM_NOTIFY_CA_FILE: tls.cert,
    SIM_REFUND_SETTLE_MS: '200',
    ...(opts.simPushPath === undefined ? {} : { SIM_PUSH_URL: `https://localhost:${port}${opts.simPushPath}` }),
    ...(push === undefined ? {} : { SIM_PUSH_URL: `https://localhost:${port}/v1/wechat/push`, SIM_PUSH_TOKEN: push.token, SIM_PUSH_MODE: 'plain' }),
    ...opts.sim
  })
  const stack = await buildStack(t, {
    gateway: { RATE_LIMIT_MAX_SCALE: '100' },
    services: {
      auth: { ...sim.env, ...(push === undefined ? {} : { WECHAT_PUSH_TOKEN: push.token, WECHAT_PUSH_MODE: 'plain' }), ...opts.auth },
      payment: { ...sim.env, WECHATPAY_NOTIFY_URL: `https://localhost:${port}/v1/payments/wechat/notify`, ...opts.payment }
    }
  })
  await stack.gateway.app.listen({ port, host: '127.0.0.1' })
  const url = await stack.gateway.listen()
  await eventually(async () => stack.gateway.app.edgeAuth.keyring.ready && stack.gateway.app.edgeAuth.revocations.ready, Boolean)
  const phone = async (path: string, body?: unknown): Promise<any> => {
    const res = await fetch(sim.url + path, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const text = await res.text()
    return { http: res.status, ...(text === '' ? {} : JSON.parse(text)) }
  }
  const api = async (token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> =>
    await call(url + path, { method, headers: { ...(token === '' ? {} : { authorization: `Bearer ${token}` }), ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
  const login = async (): Promise<string> => {
    const { code } = await phone('/sim/wx-login', {})
    const res = await call(`${url}/v1/auth/wechat/login`, { method: 'POST', body: JSON.stringify({ code }) })
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.body}`)
    return res.json().accessToken as string
  }
  return { ...stack, sim, url, login, api, phone }
}

/**
 * An access token for a staff member as auth issues it after a password + TOTP sign-in `authAgeS` ago, signed with
 * the stack's own auth key (how staff accounts come to be is auth's concern and tested there).
 */
export async function staffToken (s: PayStack, o: { role?: string, authAgeS?: number, amr?: string[] } = {}): Promise<{ token: string, userId: string }> {
  const [kid, file] = s.auth.config.AUTH_JWT_PRIVATE_KEY_FILES.split(',')[0]!.split('=') as [string, string]
  const key = await importPKCS8(readFileSync(file, 'utf8'), 'ES256')
  const now = Math.floor(Date.now() / 1000)
  const userId = randomUUID()
  const token = await new SignJWT({
    sid: randomUUID(),
    jti: randomUUID(),
    role: o.role ?? 'staff',
    auth_time: now - (o.authAgeS ?? 0),
    amr: o.amr ?? ['pwd', 'otp']
  }).setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' }).setIssuer(ACCESS_TOKEN.issuer).setAudience(ACCESS_TOKEN.audience).setSubject(userId)
    .setIssuedAt(now).setExpirationTime(now + ACCESS_TOKEN.ttlSeconds).sign(key)
  return { token, userId }
}
