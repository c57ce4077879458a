import { createHmac, randomBytes } from 'node:crypto'
import { call } from '../helpers/client.js'
import { buildPayStack, type PayStack } from './pay-stack.js'

// Virtual goods on WeChat's virtual payment, through the real gateway, auth, payment and the simulator, with
// WeChat's message push in safe mode reaching the gateway's push route.
export async function virtualStack (t: Parameters<typeof buildPayStack>[0]) {
  const push = { token: 'wxmpvirtualtest', encodingAesKey: randomBytes(32).toString('base64').slice(0, 43) }
  const s = await buildPayStack(t, {
    simPushPath: '/v1/wechat/push',
    sim: { SIM_PUSH_TOKEN: push.token, SIM_PUSH_ENCODING_AES_KEY: push.encodingAesKey, SIM_PUSH_MODE: 'safe', SIM_PUSH_FORMAT: 'json' },
    auth: { WECHAT_PUSH_TOKEN: push.token, WECHAT_PUSH_ENCODING_AES_KEY: push.encodingAesKey, WECHAT_PUSH_MODE: 'safe', WECHAT_PUSH_FORMAT: 'json' },
    payment: { RECONCILE_AFTER_SECONDS: '0', RECONCILE_INTERVAL_MS: '3600000' }
  })
  const responses: string[] = []
  const signIn = async (openid?: string): Promise<{ token: string, openid: string }> => {
    const wx = await s.phone('/sim/wx-login', openid === undefined ? {} : { openid })
    const res = await call(`${s.url}/v1/auth/wechat/login`, { method: 'POST', body: JSON.stringify({ code: wx.code }) })
    responses.push(res.body)
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.body}`)
    return { token: res.json().accessToken as string, openid: wx.openid as string }
  }
  const api = async (...args: Parameters<PayStack['api']>) => {
    const res = await s.api(...args)
    responses.push(res.body, JSON.stringify(res.headers))
    return res
  }
  const order = async (token: string, key: string, productId = 'vip-month') => await api(token, 'POST', '/v1/payments/orders', { productId, quantity: 1 }, { 'idempotency-key': key })
  const status = async (token: string, id: string) => (await api(token, 'GET', `/v1/payments/orders/${id}`)).json()
  return { ...s, signIn, api, order, status, responses, push }
}

export const hmac = (key: string, text: string): string => createHmac('sha256', key).update(text).digest('hex')

/** The simulator's state, for what WeChat did (pushes sent, orders, session keys). */
export interface SimView {
  pusher: { list: () => Array<{ id: string, event: string, subject: string, state: string, message: Record<string, unknown>, attempts: Array<{ status?: number, answer?: string }> }> }
  xpay: { orders: Map<string, { status: number }> }
  mp: { users: Map<string, { sessionKey?: string }> }
}
export const simView = (s: PayStack): SimView => (s.sim.app as unknown as { sim: SimView }).sim

export async function payOnPhone (s: PayStack, openid: string, vp: { mode: string, signData: string, paySig: string, signature: string }, extra: Record<string, unknown> = {}): Promise<any> {
  return await s.phone('/sim/virtual-pay', { openid, mode: vp.mode, signData: vp.signData, paySig: vp.paySig, signature: vp.signature, ...extra })
}
