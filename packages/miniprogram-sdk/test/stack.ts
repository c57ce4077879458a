import { buildClientStack, wxBridge, type ClientStack, type WxBridge } from '@wxmp/test-stack'
import { WxmpClient, type ClientOptions } from '../src/index'

export interface Phone {
  stack: ClientStack
  bridge: WxBridge
  /** A fresh launch of the mini-program: a new client over the same wx storage and WeChat user. */
  launch: (options?: Partial<ClientOptions>) => WxmpClient
}

type Teardown = Parameters<typeof buildClientStack>[0]

/** The whole backend, and one phone whose wx reaches it over HTTPS and the simulator. */
export async function phone (t: Teardown, opts: Parameters<typeof buildClientStack>[1] = {}): Promise<Phone> {
  const stack = await buildClientStack(t, opts)
  const bridge = wxBridge({ requestDomains: [stack.url], ca: stack.ca, simUrl: stack.sim.url })
  const launch = (options: Partial<ClientOptions> = {}): WxmpClient => {
    bridge.relaunch()
    return new WxmpClient({ baseUrl: stack.url, wx: bridge.wx as any, paymentConfirmMs: 20_000, ...options })
  }
  return { stack, bridge, launch }
}

/** Polls `fn` until `check` holds or the deadline passes; returns the last value. */
export async function eventually<T> (fn: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last = await fn()
  while (!check(last) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    last = await fn()
  }
  return last
}
