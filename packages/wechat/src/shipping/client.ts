import { annotate, type Log } from '@wxmp/core'
import { WechatErrors } from '../errors.js'
import { backoffMs, parseJsonObject, send, sleep, TransportError } from '../http.js'
import type { GetOrderRequest, NotifyConfirmReceiveRequest, ShippingOrder, UploadShippingInfoRequest } from './types.js'

/** Where the access_token comes from: the mini-program client's shared cache (`mp.accessTokens`). */
export interface AccessTokenSource {
  get: () => Promise<string>
  /** Drops `token` if it is still the cached one. */
  drop: (token: string) => Promise<boolean>
}

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

interface Reply { errcode: number, errmsg: string, body: Record<string, unknown> }

const TOKEN_ERRORS = new Set([40001, 42001, 40014])
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
  private readonly timeoutMs: number
  private readonly retries: number
  private readonly retryBaseMs: number

  constructor (private readonly opts: ShippingClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '')
    this.timeoutMs = opts.timeoutMs ?? 5000
    this.retries = opts.retries ?? 2
    this.retryBaseMs = opts.retryBaseMs ?? 200
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
    const token = await this.opts.accessTokens.get()
    const first = await this.post(api, token, json, retryable)
    if (!TOKEN_ERRORS.has(first.errcode)) return first
    // A rejected token changed nothing at WeChat, so even an upload is safe to send again.
    const dropped = await this.opts.accessTokens.drop(token)
    this.opts.log.warn({ api, errcode: first.errcode, dropped }, 'wechat rejected the access_token; retrying once with the current one')
    return await this.post(api, await this.opts.accessTokens.get(), json, retryable)
  }

  private async post (api: string, token: string, json: unknown, retryable: boolean): Promise<Reply> {
    const url = `${this.baseUrl}/wxa/sec/order/${api}?access_token=${encodeURIComponent(token)}`
    for (let attempt = 0; ; attempt++) {
      const retry = retryable && attempt < this.retries
      let res
      try {
        res = await send(url, { method: 'POST', timeoutMs: this.timeoutMs, body: JSON.stringify(json), headers: { 'content-type': 'application/json' } })
      } catch (err) {
        if (!(err instanceof TransportError)) throw err
        if (err.kind === 'timeout') {
          this.opts.log.warn({ api }, 'wechat call timed out')
          throw annotate(new WechatErrors.Timeout(), { details: { api, uncertain: !retryable } })
        }
        if (retry) { await this.pause(api, attempt, err.message); continue }
        throw annotate(new WechatErrors.Unavailable(), { details: { api, uncertain: !retryable } })
      }
      const body = parseJsonObject(res.body)
      if (res.status >= 500 || body === undefined) {
        if (retry) { await this.pause(api, attempt, `HTTP ${res.status}`); continue }
        throw annotate(res.status >= 500 ? new WechatErrors.Unavailable() : new WechatErrors.Upstream(), { details: { api, status: res.status, uncertain: !retryable } })
      }
      const errcode = typeof body.errcode === 'number' ? body.errcode : Number(body.errcode ?? 0)
      const reply: Reply = { errcode: Number.isFinite(errcode) ? errcode : -1, errmsg: typeof body.errmsg === 'string' ? body.errmsg : '', body }
      if (reply.errcode === -1 && retry) { await this.pause(api, attempt, 'system busy'); continue }
      if (reply.errcode !== 0) this.opts.log.info({ api, errcode: reply.errcode, errmsg: reply.errmsg }, 'wechat returned an error')
      return reply
    }
  }

  private async pause (api: string, attempt: number, why: string): Promise<void> {
    const ms = backoffMs(attempt, this.retryBaseMs)
    this.opts.log.warn({ api, attempt: attempt + 1, retryInMs: ms, why }, 'wechat call failed; retrying')
    await sleep(ms)
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
