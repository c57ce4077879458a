import { simCall } from '../client.js'
import { VIRTUAL_PRODUCT } from '../load.js'
import type { ScenarioContext } from './context.js'
import type { FaultSpec } from './fault.js'

async function faults (ctx: ScenarioContext, specs: unknown[]): Promise<void> {
  const r = await simCall(ctx.stack.simUrl, '/sim/faults', specs)
  if (r.status !== 200) throw new Error(`the simulator refused the faults: ${r.status} ${JSON.stringify(r.body)}`)
}

/**
 * WeChat's order shipping management failing under load. Two of three orders are virtual goods, reported with
 * upload_shipping_info as soon as they are paid; during the fault uploads time out (carried out by the platform
 * after the caller gave up), lose their answer after being recorded, or fail before being recorded, and get_order
 * (which settles an uncertain upload) fails too. The books then require every paid virtual order to be reported, and
 * the platform to have carried out exactly one upload for each: a second would spend the payment's one allowed
 * modification.
 */
export const shippingFaults: FaultSpec = {
  name: 'shipping-faults',
  fault: 'Two of three orders are virtual goods, reported to WeChat\'s shipping management at payment. The simulator makes a quarter of upload_shipping_info calls take 2.5 s (past payment\'s 1.5 s deadline; the platform records them after the caller gave up), records 20% and then drops the connection (answer lost), fails 15% with 502 and 10% with errcode -1 before recording them, hangs up on 10%, and fails 30% of get_order calls. Uncertain uploads are settled by get_order, never by uploading again.',
  load: { products: [VIRTUAL_PRODUCT, VIRTUAL_PRODUCT, 'latte'] },
  inject: async (ctx) => {
    await faults(ctx, [
      { endpoint: 'upload_shipping_info', latencyMs: 2500, probability: 0.25 },
      { endpoint: 'upload_shipping_info', lostAnswer: true, probability: 0.2 },
      { endpoint: 'upload_shipping_info', status: 502, probability: 0.15 },
      { endpoint: 'upload_shipping_info', errcode: -1, errmsg: 'system error', probability: 0.1 },
      { endpoint: 'upload_shipping_info', hangup: true, probability: 0.1 },
      { endpoint: 'get_order', status: 500, probability: 0.3 }
    ])
  },
  recover: async ({ stack }) => { await simCall(stack.simUrl, '/sim/faults', undefined, 'DELETE') }
}
