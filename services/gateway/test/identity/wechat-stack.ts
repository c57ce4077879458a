import { startSimulator, type RunningSimulator } from '@wxmp/wechat-sim/testing'
import type { Teardown } from '@wxmp/testing'
import { buildStack, type Stack } from '../helpers/stack.js'

export interface WechatStack extends Stack {
  sim: RunningSimulator
  /** https URL of the gateway's real TLS listener. */
  url: string
  /** What the phone does: wx.login against the simulator. */
  wxLogin: (openid?: string) => Promise<{ code: string, openid: string }>
  phoneCode: (openid: string, phoneNumber: string) => Promise<string>
}

/** The whole stack on real Postgres, Redis and NATS, with a WeChat simulator, listening on real TLS. `auth` adds to auth's settings. */
export async function buildWechatStack (t: Teardown, gateway: Record<string, string> = {}, auth: Record<string, string> = {}): Promise<WechatStack> {
  const sim = await startSimulator(t)
  const stack = await buildStack(t, {
    gateway: { RATE_LIMIT_MAX_SCALE: '100', ...gateway },
    services: { auth: { ...sim.env, BCRYPT_COST: '10', ...auth }, payment: sim.env }
  })
  const url = await stack.gateway.listen()
  const post = async (path: string, body: unknown): Promise<any> => {
    const res = await fetch(sim.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    return await res.json()
  }
  return {
    ...stack,
    sim,
    url,
    wxLogin: async (openid) => await post('/sim/wx-login', openid === undefined ? {} : { openid }),
    phoneCode: async (openid, phoneNumber) => (await post('/sim/phone-code', { openid, phoneNumber })).code
  }
}
