import { annotate, type Log } from '@wxmp/core'
import { WechatErrors } from '../errors.js'
import { callServerApi, withAccessToken, type AccessTokenSource, type ServerApiSettings, type WechatReply as Reply } from '../server-api.js'
import type { GetOrderRequest, NotifyConfirmReceiveRequest, ShippingOrder, UploadShippingInfoRequest } from './types.js'

export type { AccessTokenSource }

export interface ShippingClientOptions {
  /** https://api.weixin.qq.com in production; the simulator's URL in development. */
  baseUrl: string
  accessTokens: AccessTokenSource
  log: Log
  /** Deadline of one HTTP call to WeChat. */
  timeoutMs?: number
  /** How many times a read (get_order, is_trade_managed) is retried on -1, 5xx or a refused connection. */
  retries?: number
  retryBaseMs?: number
}

// Refusals of the shipping information itself; details.errcode says which rule.
const INVALID = new Set([
  47001, 10060005, 10060006, 10060007, 10060008, 10060009, 10060020, 10060024, 10060025, 10060026,
  268485216, 268485224, 268485226, 268485228, 40097,
  // notify_confirm_receive: the signed-for time is not after the upload (or is in milliseconds, or to come).
  10060029
])

/**
 * The order shipping management APIs (发货信息管理). upload_shipping_info is never retried here: a payment allows one
 * modification, so after a timeout or a 5xx the caller reads the platform's order with getOrder and uploads again
 * only if nothing was recorded.
 */
export class ShippingClient {
  private readonly baseUrl: string
  private readonly settings: ServerApiSettings

  constructor (private readonly opts: ShippingClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '')
    this.settings = { timeoutMs: opts.timeoutMs ?? 5000, retries: opts.retries ?? 2, retryBaseMs: opts.retryBaseMs ?? 200, log: opts.log }
  }

  /** Reports shipping (first upload) or changes it (the one modification). */
  async uploadShippingInfo (request: UploadShippingInfoRequest): Promise<void> {
    const reply = await this.call('upload_shipping_info', request, false)
    if (reply.errcode !== 0) throw this.map('upload_shipping_info', reply)
  }

  /** The payment as the platform sees it: order_state and what shipping it recorded. */
  async getOrder (request: GetOrderRequest): Promise<ShippingOrder> {
    const reply = await this.call('get_order', request, true)
    if (reply.errcode !== 0) throw this.map('get_order', reply)
    const order = reply.body.order as ShippingOrder | undefined
    if (order === undefined || typeof order.order_state !== 'number' || typeof order.transaction_id !== 'string') {
      throw annotate(new WechatErrors.Upstream(), { details: { api: 'get_order', errcode: 0, why: 'success without order' } })
    }
    return order
  }

  /** Whether the mini-program is under order shipping management (its payments are frozen until confirmed). */
  async isTradeManaged (appid: string): Promise<boolean> {
    const reply = await this.call('is_trade_managed', { appid }, true)
    if (reply.errcode !== 0) throw this.map('is_trade_managed', reply)
    return reply.body.is_trade_managed === true
  }

  /** Reminds the buyer to confirm receipt (express only, once per payment, after the carrier's delivery). */
  async notifyConfirmReceive (request: NotifyConfirmReceiveRequest): Promise<void> {
    const reply = await this.call('notify_confirm_receive', request, false)
    if (reply.errcode !== 0) throw this.map('notify_confirm_receive', reply)
  }

  /** The mini-program page the shipping and settlement messages open, e.g. `pages/order/detail?id=`. */
  async setMsgJumpPath (path: string): Promise<void> {
    const reply = await this.call('set_msg_jump_path', { path }, true)
    if (reply.errcode !== 0) throw this.map('set_msg_jump_path', reply)
  }

  private async call (api: string, json: unknown, retryable: boolean): Promise<Reply> {
    const body = JSON.stringify(json)
    return await withAccessToken(this.opts.accessTokens, api, this.opts.log, async (token) =>
      await callServerApi(this.settings, { api, url: `${this.baseUrl}/wxa/sec/order/${api}?access_token=${encodeURIComponent(token)}`, body, retryable }))
  }

  private map (api: string, reply: Reply): Error {
    const details = { api, errcode: reply.errcode, errmsg: reply.errmsg }
    switch (reply.errcode) {
      case 10060001: return annotate(new WechatErrors.ShippingOrderNotFound(), { details })
      case 10060002: return annotate(new WechatErrors.ShippingAlreadyShipped(), { details })
      case 10060003: return annotate(new WechatErrors.ShippingModificationUsed(), { details })
      case 10060004: return annotate(new WechatErrors.ShippingNotShippable(), { details })
      case 45011: return annotate(new WechatErrors.RateLimited(), { details, headers: { 'retry-after': '60' } })
      // -1 on an upload is "system busy": whether it was recorded is unknown, as after a 5xx.
      case -1: return annotate(new WechatErrors.Unavailable(), { details: { ...details, uncertain: api === 'upload_shipping_info' || api === 'notify_confirm_receive' } })
      default:
        if (INVALID.has(reply.errcode)) return annotate(new WechatErrors.ShippingInvalid(), { details })
        return annotate(new WechatErrors.Upstream(), { details })
    }
  }
}
