import { annotate, type Log } from '@wxmp/core'
import { WechatErrors } from '../errors.js'
import { backoffMs, parseJsonObject, send, sleep, TransportError } from '../http.js'
import type { AccessTokenSource } from '../shipping/client.js'
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

const TOKEN_ERRORS = new Set([40001, 42001, 40014])

interface Reply { errcode: number, errmsg: string, body: Record<string, unknown> }

/**
 * The server APIs of WeChat's virtual payment (query_order, refund_order, notify_provide_goods), each signed with
 * `pay_sig` = HMAC-SHA256(AppKey, uri + '&' + body) over the exact body sent. None of these three takes the
 * user-state `signature` (only the coin APIs do), so the session_key is never needed here.
 */
export class XpayClient {
  private readonly baseUrl: string
  private readonly timeoutMs: number
  private readonly retries: number
  private readonly retryBaseMs: number

  constructor (private readonly opts: XpayClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '')
    this.timeoutMs = opts.timeoutMs ?? 5000
    this.retries = opts.retries ?? 2
    this.retryBaseMs = opts.retryBaseMs ?? 200
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

  private async call (api: string, json: unknown, retryable: boolean): Promise<Reply> {
    const body = JSON.stringify(json)
    const token = await this.opts.accessTokens.get()
    const first = await this.post(api, token, body, retryable)
    if (!TOKEN_ERRORS.has(first.errcode)) return first
    const dropped = await this.opts.accessTokens.drop(token)
    this.opts.log.warn({ api, errcode: first.errcode, dropped }, 'wechat rejected the access_token; retrying once with the current one')
    return await this.post(api, await this.opts.accessTokens.get(), body, retryable)
  }

  private async post (api: string, token: string, body: string, retryable: boolean): Promise<Reply> {
    const uri = `/xpay/${api}`
    const url = `${this.baseUrl}${uri}?access_token=${encodeURIComponent(token)}&pay_sig=${xpayPaySig(this.opts.appKey, uri, body)}`
    for (let attempt = 0; ; attempt++) {
      const retry = retryable && attempt < this.retries
      let res
      try {
        res = await send(url, { method: 'POST', timeoutMs: this.timeoutMs, body, headers: { 'content-type': 'application/json' } })
      } catch (err) {
        if (!(err instanceof TransportError)) throw err
        if (err.kind === 'timeout') throw annotate(new WechatErrors.Timeout(), { details: { api, uncertain: !retryable } })
        if (retry) { await this.pause(api, attempt, err.message); continue }
        throw annotate(new WechatErrors.Unavailable(), { details: { api, uncertain: !retryable } })
      }
      const parsed = parseJsonObject(res.body)
      if (res.status >= 500 || parsed === undefined) {
        if (retry) { await this.pause(api, attempt, `HTTP ${res.status}`); continue }
        throw annotate(res.status >= 500 ? new WechatErrors.Unavailable() : new WechatErrors.Upstream(), { details: { api, status: res.status, uncertain: !retryable } })
      }
      const errcode = typeof parsed.errcode === 'number' ? parsed.errcode : Number(parsed.errcode ?? 0)
      const reply: Reply = { errcode: Number.isFinite(errcode) ? errcode : -1, errmsg: typeof parsed.errmsg === 'string' ? parsed.errmsg : '', body: parsed }
      if (reply.errcode === -1 && retry) { await this.pause(api, attempt, 'system busy'); continue }
      if (reply.errcode !== 0) this.opts.log.info({ api, errcode: reply.errcode, errmsg: reply.errmsg }, 'wechat virtual payment returned an error')
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
    if (reply.errcode === -1) return annotate(new WechatErrors.Unavailable(), { details: { ...details, uncertain: api === 'refund_order' } })
    if (reply.errcode === 45011 || reply.errcode === 268490015) return annotate(new WechatErrors.RateLimited(), { details, headers: { 'retry-after': '60' } })
    return annotate(new WechatErrors.Upstream(), { details })
  }
}
