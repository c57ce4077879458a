import type { FastifyInstance } from 'fastify'
import type { Endpoint } from '../domain/faults.js'
import type { WxError } from '../domain/mini-program.js'
import { answer, applyFaults, DATA_FORMAT_ERROR, jsonBody, wechatApiScope } from './wx-answer.js'

const OK = { errcode: 0 as const, errmsg: 'ok' }

/**
 * Order shipping management (发货信息管理) at WeChat's paths, answered as WeChat does: HTTP 200 with
 * `{errcode, errmsg}`, the errmsg ending in a rid.
 */
export default async function shippingRoutes (app: FastifyInstance): Promise<void> {
  const { sim } = app
  const cfg = sim.config

  wechatApiScope(app)

  /**
   * Counts the call, applies injected faults, checks the access_token and parses the body; `run` does the work.
   * A lostAnswer fault lets `run` change the platform, then drops the connection before the answer leaves.
   */
  function route (endpoint: Endpoint, run: (body: Record<string, unknown>) => WxError | (Record<string, unknown> & { errcode: 0 })): void {
    app.post(`/wxa/sec/order/${endpoint}`, async (request, reply) => {
      const effects = await applyFaults(sim, endpoint, request, reply)
      if (effects === undefined) return reply
      const tokenError = sim.mp.checkToken((request.query as Record<string, string | undefined>).access_token)
      if (tokenError !== undefined) return answer(reply, tokenError)
      const body = jsonBody(request)
      const result = body === undefined ? DATA_FORMAT_ERROR : run(body)
      if (effects.lostAnswer) {
        reply.hijack()
        request.raw.socket.destroy()
        return reply
      }
      return result.errcode === 0 ? result : answer(reply, result as WxError)
    })
  }

  route('upload_shipping_info', (body) => {
    const r = sim.shipping.state.upload(body)
    if ('error' in r) return r.error
    sim.stats.shippingUploads[r.ok.order.transactionId!] = (sim.stats.shippingUploads[r.ok.order.transactionId!] ?? 0) + 1
    app.log.info({ transactionId: r.ok.order.transactionId, modification: r.ok.modification }, 'shipping recorded')
    sim.shipping.uploaded(r.ok.order, r.ok.shipment)
    return OK
  })

  route('get_order', (body) => {
    const order = typeof body.transaction_id === 'string' && body.transaction_id !== ''
      ? sim.shipping.state.find({ transactionId: body.transaction_id })
      : typeof body.merchant_id === 'string' && typeof body.merchant_trade_no === 'string'
        ? sim.shipping.state.find({ mchid: body.merchant_id, outTradeNo: body.merchant_trade_no })
        : null
    if (order === null) return DATA_FORMAT_ERROR
    if (order === undefined) return { errcode: 10060001, errmsg: '支付单不存在' }
    return { ...OK, order: sim.shipping.state.view(order) }
  })

  route('is_trade_managed', (body) => {
    if (typeof body.appid !== 'string' || body.appid === '') return DATA_FORMAT_ERROR
    if (body.appid !== cfg.WECHAT_APPID) return { errcode: 40013, errmsg: 'invalid appid' }
    return { ...OK, is_trade_managed: cfg.SIM_TRADE_MANAGED }
  })

  route('notify_confirm_receive', (body) => {
    const r = sim.shipping.state.remindConfirm(body)
    return 'error' in r ? r.error : OK
  })

  route('set_msg_jump_path', (body) => {
    if (typeof body.path !== 'string' || body.path === '' || body.path.length > 512) return DATA_FORMAT_ERROR
    // WeChat appends the payment's transaction_id, merchant_id and merchant_trade_no itself and takes no other query.
    if (body.path.includes('?')) return { errcode: 40097, errmsg: 'invalid args: the path takes no query string' }
    sim.shipping.state.msgJumpPath = body.path
    return OK
  })
}
