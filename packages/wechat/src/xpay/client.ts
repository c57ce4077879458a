import { annotate, type Log } from '@wxmp/core'
import { WechatErrors } from '../errors.js'
import { callServerApi, withAccessToken, type AccessTokenSource, type ServerApiSettings, type WechatReply as Reply } from '../server-api.js'
import { xpayPaySig } from './signing.js'
import type { XpayNotifyProvideGoodsRequest, XpayOrder, XpayQueryOrderRequest, XpayRefundOrderReply, XpayRefundOrderRequest } from './types.js'

export interface XpayClientOptions {
  /** https://api.weixin.qq.com in production; the simulator's URL in development. */
  baseUrl: string
  accessTokens: AccessTokenSource
  /** The AppKey of the environment the calls name (env 0: 现网 AppKey, env 1: 沙箱 AppKey). */
  appKey: string
  log: Log
  timeoutMs?: number
  /** How many times a read (query_order) is retried on -1, 5xx or a refused connection. */
  retries?: number
  retryBaseMs?: number
}

/** Virtual-payment errcodes (虚拟支付 server APIs). */
export const XpayErrcodes = {
  INVALID_OPENID: 268490001,
  INVALID_PARAMS: 268490002,
  SIGNATURE_ERROR: 268490003,
  /** 重复操作: the operation was done before (a refund with the same refund_order_id). */
  REPEATED: 268490004,
  SESSION_KEY_EXPIRED: 268490009
} as const

/**
 * The server APIs of WeChat's virtual payment (query_order, refund_order, notify_provide_goods), each signed with
 * `pay_sig` = HMAC-SHA256(AppKey, uri + '&' + body) over the exact body sent. None of these three takes the
 * user-state `signature` (only the coin APIs do), so the session_key is never needed here.
 */
export class XpayClient {
  private readonly baseUrl: string
  private readonly settings: ServerApiSettings

  constructor (private readonly opts: XpayClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '')
    this.settings = { timeoutMs: opts.timeoutMs ?? 5000, retries: opts.retries ?? 2, retryBaseMs: opts.retryBaseMs ?? 200, log: opts.log }
  }

  /** The order as WeChat has it; `undefined` when WeChat has no such order (the phone never opened the sheet). */
  async queryOrder (request: XpayQueryOrderRequest): Promise<XpayOrder | undefined> {
    const reply = await this.call('query_order', request, true)
    if (reply.errcode === XpayErrcodes.INVALID_PARAMS && /not exist|不存在/i.test(reply.errmsg)) return undefined
    if (reply.errcode !== 0) throw this.map('query_order', reply)
    const order = reply.body.order as XpayOrder | undefined
    if (order === undefined || typeof order.status !== 'number') {
      throw annotate(new WechatErrors.Upstream(), { details: { api: 'query_order', errcode: 0, why: 'success without order' } })
    }
    return order
  }

  /**
   * Refunds (part of) an order. The same refund_order_id is the same refund at WeChat, so a retry after a timeout
   * cannot refund twice; WeChat's "repeated" answer to a retry counts as accepted.
   */
  async refundOrder (request: XpayRefundOrderRequest): Promise<XpayRefundOrderReply | { repeated: true }> {
    const reply = await this.call('refund_order', request, false)
    if (reply.errcode === XpayErrcodes.REPEATED) return { repeated: true }
    if (reply.errcode !== 0) throw this.map('refund_order', reply)
    return reply.body as unknown as XpayRefundOrderReply
  }

  /** Tells WeChat the goods of a paid order were delivered, when the deliver push was not answered in time. */
  async notifyProvideGoods (request: XpayNotifyProvideGoodsRequest): Promise<void> {
    const reply = await this.call('notify_provide_goods', request, true)
    if (reply.errcode !== 0 && reply.errcode !== XpayErrcodes.REPEATED) throw this.map('notify_provide_goods', reply)
  }

  /** A call signed with pay_sig over the URI and the exact body sent; the access_token is not part of the signature. */
  private async call (api: string, json: unknown, retryable: boolean): Promise<Reply> {
    const body = JSON.stringify(json)
    const uri = `/xpay/${api}`
    const paySig = xpayPaySig(this.opts.appKey, uri, body)
    return await withAccessToken(this.opts.accessTokens, api, this.opts.log, async (token) =>
      await callServerApi(this.settings, { api, url: `${this.baseUrl}${uri}?access_token=${encodeURIComponent(token)}&pay_sig=${paySig}`, body, retryable }))
  }

  private map (api: string, reply: Reply): Error {
    const details = { api, errcode: reply.errcode, errmsg: reply.errmsg }
    if (reply.errcode === -1) return annotate(new WechatErrors.Unavailable(), { details: { ...details, uncertain: api === 'refund_order' } })
    if (reply.errcode === 45011 || reply.errcode === 268490015) return annotate(new WechatErrors.RateLimited(), { details, headers: { 'retry-after': '60' } })
    return annotate(new WechatErrors.Upstream(), { details })
  }
}
