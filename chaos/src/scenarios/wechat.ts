import { simCall } from '../client.js'
import type { ScenarioContext } from './context.js'
import type { FaultSpec } from './fault.js'

async function faults (ctx: ScenarioContext, specs: unknown[]): Promise<void> {
  const r = await simCall(ctx.stack.simUrl, '/sim/faults', specs)
  if (r.status !== 200) throw new Error(`the simulator refused the faults: ${r.status} ${JSON.stringify(r.body)}`)
}

const clear = async ({ stack }: ScenarioContext): Promise<void> => { await simCall(stack.simUrl, '/sim/faults', undefined, 'DELETE') }

/** WeChat answering slowly: logins, prepays, queries and notifications delayed. */
export const wechatSlow: FaultSpec = {
  name: 'wechat-slow',
  fault: 'The simulator answers half the code2Session and JSAPI prepay calls 1.5-2.5 s late, and delays a third of its notifications by 2 s.',
  inject: async (ctx) => {
    await faults(ctx, [
      { endpoint: 'jscode2session', latencyMs: 1500, probability: 0.5 },
      { endpoint: 'jsapi', latencyMs: 2500, probability: 0.5 },
      { endpoint: 'query', latencyMs: 2000, probability: 0.5 },
      { endpoint: 'notify', latencyMs: 2000, probability: 0.3 }
    ])
  },
  recover: clear
}

/** WeChat failing: system errors, dropped connections, errcodes. */
export const wechatErrors: FaultSpec = {
  name: 'wechat-errors',
  fault: 'The simulator fails 30% of prepays with 500 SYSTEM_ERROR and drops 10% of the connections, answers 20% of code2Session calls with errcode -1 (system busy), and fails 30% of order queries. Clients see 502/503 envelopes and retry the same key; a prepay that failed is redone on the same order.',
  inject: async (ctx) => {
    await faults(ctx, [
      { endpoint: 'jsapi', status: 500, code: 'SYSTEM_ERROR', probability: 0.3 },
      { endpoint: 'jsapi', hangup: true, probability: 0.1 },
      { endpoint: 'jscode2session', errcode: -1, errmsg: 'system error', probability: 0.2 },
      { endpoint: 'query', status: 500, code: 'SYSTEM_ERROR', probability: 0.3 }
    ])
  },
  recover: clear
}

/** WeChat's answers and notifications signed wrongly. */
export const wechatBadSignatures: FaultSpec = {
  name: 'wechat-bad-signatures',
  fault: 'The simulator signs 30% of its prepay answers and half of its notifications and query answers with a wrong signature. Unverified prepay answers are refused (502) and retried by the client with the same key; a notification that fails verification is refused (4xx) and WeChat Pay sends it again, freshly signed.',
  inject: async (ctx) => {
    await faults(ctx, [
      { endpoint: 'jsapi', badSignature: true, probability: 0.3 },
      { endpoint: 'notify', badSignature: true, probability: 0.5 },
      { endpoint: 'query', badSignature: true, probability: 0.5 }
    ])
  },
  recover: clear
}

const rand = (n: number): number => Math.floor(Math.random() * (n + 1))

/** Notifications duplicated, delayed (so they arrive out of order) and redelivered after they were accepted. */
export const notificationStorm: FaultSpec = {
  name: 'notification-storm',
  fault: 'Every payment notification is sent with 0-3 duplicates at once and after a random 0-3 s delay, so they arrive out of order; during the fault window, notifications already accepted are delivered again (some twice).',
  load: { duplicates: () => rand(3), notifyDelayMs: () => rand(3000) },
  inject: async () => {},
  recover: async () => {},
  during: async (ctx, load) => {
    const end = Date.now() + ctx.timing.faultMs
    const redelivered = new Set<string>()
    while (Date.now() < end) {
      const paid = load.intents.filter((i) => i.paid)
      for (const i of paid) {
        const outTradeNo = [...i.outTradeNos][0] as string
        if (redelivered.has(outTradeNo) && Math.random() < 0.7) continue
        redelivered.add(outTradeNo)
        await simCall(ctx.stack.simUrl, '/sim/notifications/redeliver', { subject: outTradeNo })
      }
      await new Promise((resolve) => setTimeout(resolve, 300))
    }
  }
}
