import type { KeyObject, X509Certificate } from 'node:crypto'
import { annotate, type Log } from '@wxmp/core'
import { WechatErrors } from '../errors.js'
import { backoffMs, parseJsonObject, send, sleep, TransportError, type RawResponse } from '../http.js'
import { buildAuthorization, decryptResource, paySign, randomNonce, toPrivateKey, type PrivateKeyInput, type PublicKeyInput } from './crypto.js'
import { mapPayError } from './error-map.js'
import type { JsapiPayParams, Notification, Refund, Transaction } from './types.js'
import { headerValue, SignatureRejected, WechatPayVerifier, type HeaderSource } from './verifier.js'

export interface WechatPayClientOptions {
  /** https://api.mch.weixin.qq.com in production; the simulator's URL in development. */
  baseUrl: string
  mchid: string
  /** The mini-program's appid, bound to the merchant. */
  appid: string
  /** Serial number of the merchant API certificate. */
  merchantSerialNo: string
  merchantPrivateKey: PrivateKeyInput
  /** The 32-character APIv3 key that encrypts notification resources. */
  apiV3Key: string
  /** `PUB_KEY_ID_...` -> WeChat Pay public key; several during a key migration. */
  wechatpayPublicKeys?: Map<string, PublicKeyInput> | Record<string, PublicKeyInput>
  /** WeChat Pay platform certificates (older merchants, or both during a migration). */
  platformCertificates?: Array<X509Certificate | string | Buffer>
  /** Where WeChat Pay sends payment results (and refund results unless a refund names its own). */
  notifyUrl: string
  log: Log
  /** Deadline of one HTTP call. */
  timeoutMs?: number
  /** How many times a 5xx, a timeout or a failed connection is retried, with the same body. */
  retries?: number
  retryBaseMs?: number
  /** Largest accepted clock distance of a signed response or notification. */
  signatureWindowSeconds?: number
}

export interface JsapiPrepayInput {
  outTradeNo: string
  description: string
  amountFen: number
  payerOpenid: string
  /** When the order stops being payable. */
  timeExpire?: Date | string
  attach?: string
  notifyUrl?: string
}

export interface RefundInput {
  outTradeNo: string
  outRefundNo: string
  refundFen: number
  totalFen: number
  reason?: string
  notifyUrl?: string
}

const TRADE_STATES: ReadonlySet<unknown> = new Set(['SUCCESS', 'REFUND', 'NOTPAY', 'CLOSED', 'REVOKED', 'USERPAYING', 'PAYERROR'])
const REFUND_STATES: ReadonlySet<unknown> = new Set(['SUCCESS', 'CLOSED', 'PROCESSING', 'ABNORMAL'])

function isObject (v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** A transaction answer: the fields every caller reads are there and of their type. */
function isTransaction (body: Record<string, unknown>): body is Record<string, unknown> & Transaction {
  return typeof body.out_trade_no === 'string' && TRADE_STATES.has(body.trade_state) && isObject(body.amount)
}

/** A refund answer: the fields every caller reads are there and of their type. */
function isRefund (body: Record<string, unknown>): body is Record<string, unknown> & Refund {
  return typeof body.out_refund_no === 'string' && REFUND_STATES.has(body.status) && isObject(body.amount)
}

/** The answer of `api` when it has the expected shape; anything else is an upstream fault, not data to act on. */
function expected<T extends Record<string, unknown>> (api: string, body: Record<string, unknown> | undefined, is: (b: Record<string, unknown>) => b is T): T {
  if (body === undefined || !is(body)) throw annotate(new WechatErrors.PayUpstream(), { details: { api, why: 'unexpected answer' } })
  return body
}

/** RFC 3339 in Beijing time, the form WeChat Pay uses for every time field. */
export function wechatPayTime (date: Date): string {
  const shifted = new Date(date.getTime() + 8 * 3600_000)
  return shifted.toISOString().replace(/\.\d{3}Z$/, '+08:00')
}

const USER_AGENT = 'wxmp-wechat/0.1 (node)'

/** WeChat Pay API v3 for a direct merchant: JSAPI payments, queries, closing, refunds and notifications. */
export class WechatPayClient {
  private readonly baseUrl: URL
  private readonly privateKey: KeyObject
  private readonly verifier: WechatPayVerifier
  private readonly timeoutMs: number
  private readonly retries: number
  private readonly retryBaseMs: number

  constructor (private readonly opts: WechatPayClientOptions) {
    this.baseUrl = new URL(opts.baseUrl.endsWith('/') ? opts.baseUrl : opts.baseUrl + '/')
    this.privateKey = toPrivateKey(opts.merchantPrivateKey)
    if (Buffer.byteLength(opts.apiV3Key, 'utf8') !== 32) throw new Error('apiV3Key must be 32 bytes')
    this.verifier = new WechatPayVerifier({
      ...(opts.wechatpayPublicKeys === undefined ? {} : { publicKeys: opts.wechatpayPublicKeys }),
      ...(opts.platformCertificates === undefined ? {} : { certificates: opts.platformCertificates }),
      windowSeconds: opts.signatureWindowSeconds ?? 300
    })
    this.timeoutMs = opts.timeoutMs ?? 10_000
    this.retries = opts.retries ?? 2
    this.retryBaseMs = opts.retryBaseMs ?? 200
  }

  /** Creates (or, with identical details, finds again) the prepay order for wx.requestPayment. */
  async jsapiPrepay (input: JsapiPrepayInput): Promise<{ prepayId: string }> {
    const body: Record<string, unknown> = {
      appid: this.opts.appid,
      mchid: this.opts.mchid,
      description: input.description,
      out_trade_no: input.outTradeNo
    }
    if (input.timeExpire !== undefined) body.time_expire = input.timeExpire instanceof Date ? wechatPayTime(input.timeExpire) : input.timeExpire
    if (input.attach !== undefined) body.attach = input.attach
    body.notify_url = input.notifyUrl ?? this.opts.notifyUrl
    body.amount = { total: input.amountFen, currency: 'CNY' }
    body.payer = { openid: input.payerOpenid }
    const res = await this.request('jsapiPrepay', 'POST', '/v3/pay/transactions/jsapi', body)
    if (typeof res?.prepay_id !== 'string') throw annotate(new WechatErrors.PayUpstream(), { details: { api: 'jsapiPrepay', why: 'no prepay_id' } })
    return { prepayId: res.prepay_id }
  }

  /** The signed parameters the mini-program passes to wx.requestPayment. */
  jsapiPayParams (prepayId: string): JsapiPayParams {
    const params = { appId: this.opts.appid, timeStamp: String(Math.floor(Date.now() / 1000)), nonceStr: randomNonce(), package: `prepay_id=${prepayId}` }
    return { ...params, signType: 'RSA', paySign: paySign(params, this.privateKey) }
  }

  async queryByOutTradeNo (outTradeNo: string): Promise<Transaction> {
    const path = `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}?mchid=${encodeURIComponent(this.opts.mchid)}`
    return expected('queryByOutTradeNo', await this.request('queryByOutTradeNo', 'GET', path), isTransaction)
  }

  /** Closes an unpaid order so it can no longer be paid. */
  async closeOrder (outTradeNo: string): Promise<void> {
    await this.request('closeOrder', 'POST', `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}/close`, { mchid: this.opts.mchid })
  }

  /** Applies for a refund; the same outRefundNo always means the same refund. */
  async refund (input: RefundInput): Promise<Refund> {
    const body: Record<string, unknown> = { out_trade_no: input.outTradeNo, out_refund_no: input.outRefundNo }
    if (input.reason !== undefined) body.reason = input.reason
    body.notify_url = input.notifyUrl ?? this.opts.notifyUrl
    body.amount = { refund: input.refundFen, total: input.totalFen, currency: 'CNY' }
    return expected('refund', await this.request('refund', 'POST', '/v3/refund/domestic/refunds', body), isRefund)
  }

  async queryRefund (outRefundNo: string): Promise<Refund> {
    return expected('queryRefund', await this.request('queryRefund', 'GET', `/v3/refund/domestic/refunds/${encodeURIComponent(outRefundNo)}`), isRefund)
  }

  /**
   * Verifies a notification's signature over the raw body, then decrypts its resource with the APIv3 key.
   * Throws WECHATPAY_SIGNATURE_INVALID (401) or WECHATPAY_NOTIFICATION_INVALID (400); never skips a check.
   */
  verifyNotification<R = Record<string, unknown>> (headers: HeaderSource, rawBody: Buffer | string): Notification<R> {
    try {
      this.verifier.verify(headers, rawBody)
    } catch (err) {
      if (err instanceof SignatureRejected) {
        this.opts.log.warn({ reason: err.reason, serial: err.serial }, 'wechatpay notification signature rejected')
        throw annotate(new WechatErrors.PaySignatureInvalid(), { details: { reason: err.reason } })
      }
      throw err
    }
    const body = parseJsonObject(rawBody)
    const resource = body?.resource as { algorithm?: string, ciphertext?: unknown, nonce?: unknown, associated_data?: unknown } | undefined
    if (body === undefined || typeof body.id !== 'string' || typeof body.event_type !== 'string' || resource === undefined ||
        typeof resource.ciphertext !== 'string' || typeof resource.nonce !== 'string') {
      throw new WechatErrors.PayNotificationInvalid('it is not a WeChat Pay notification')
    }
    if (resource.algorithm !== 'AEAD_AES_256_GCM') throw new WechatErrors.PayNotificationInvalid('unsupported resource algorithm')
    let plain: string
    try {
      plain = decryptResource({
        algorithm: resource.algorithm,
        ciphertext: resource.ciphertext,
        nonce: resource.nonce,
        associated_data: typeof resource.associated_data === 'string' ? resource.associated_data : ''
      }, this.opts.apiV3Key)
    } catch {
      throw new WechatErrors.PayNotificationInvalid('its resource does not decrypt with the APIv3 key')
    }
    const decrypted = parseJsonObject(plain)
    if (decrypted === undefined) throw new WechatErrors.PayNotificationInvalid('its resource is not JSON')
    if (decrypted.mchid !== undefined && decrypted.mchid !== this.opts.mchid) throw new WechatErrors.PayNotificationInvalid('it is for another merchant')
    if (decrypted.appid !== undefined && decrypted.appid !== this.opts.appid) throw new WechatErrors.PayNotificationInvalid('it is for another app')
    return {
      id: body.id,
      create_time: String(body.create_time ?? ''),
      event_type: body.event_type,
      resource_type: String(body.resource_type ?? ''),
      summary: String(body.summary ?? ''),
      resource: decrypted as R
    }
  }

  /**
   * A signed APIv3 call. 5xx answers, timeouts and failed connections are retried with the same body (every
   * call here is idempotent by its merchant number); a 4xx is never retried. A 2xx whose signature does not
   * verify is an error, as is a signed 4xx whose signature does not.
   */
  private async request (api: string, method: 'GET' | 'POST', pathWithQuery: string, json?: unknown): Promise<Record<string, unknown> | undefined> {
    const url = new URL(pathWithQuery.replace(/^\//, ''), this.baseUrl)
    const signedPath = url.pathname + url.search
    const body = json === undefined ? '' : JSON.stringify(json)
    for (let attempt = 0; ; attempt++) {
      const retry = attempt < this.retries
      const headers: Record<string, string> = {
        authorization: buildAuthorization({ mchid: this.opts.mchid, serialNo: this.opts.merchantSerialNo, privateKey: this.privateKey, method, pathWithQuery: signedPath, body }),
        accept: 'application/json',
        'user-agent': USER_AGENT
      }
      if (json !== undefined) headers['content-type'] = 'application/json'
      let res: RawResponse
      try {
        res = await send(url.toString(), { method, headers, timeoutMs: this.timeoutMs, ...(json === undefined ? {} : { body }) })
      } catch (err) {
        if (!(err instanceof TransportError)) throw err
        if (retry) { await this.pause(api, attempt, err.message); continue }
        throw annotate(err.kind === 'timeout' ? new WechatErrors.PayTimeout() : new WechatErrors.PayUnavailable(), { details: { api } })
      }
      const requestId = res.headers.get('request-id') ?? undefined
      if (res.status >= 200 && res.status < 300) {
        this.verifyResponse(api, res, requestId)
        if (res.body.length === 0) return undefined
        const parsed = parseJsonObject(res.body)
        if (parsed === undefined) throw annotate(new WechatErrors.PayUpstream(), { details: { api, status: res.status, requestId, why: 'body is not JSON' } })
        return parsed
      }
      const errBody = parseJsonObject(res.body)
      const code = typeof errBody?.code === 'string' ? errBody.code : undefined
      const message = typeof errBody?.message === 'string' ? errBody.message : undefined
      if (res.status >= 500 || code === 'SYSTEM_ERROR' || code === 'SYSTEMERROR' || code === 'BANK_ERROR' || code === 'BANKERROR') {
        if (retry) { await this.pause(api, attempt, `HTTP ${res.status} ${code ?? ''}`.trim()); continue }
      }
      this.opts.log.warn({ api, status: res.status, code, message, detail: errBody?.detail, requestId }, 'wechatpay returned an error')
      const mapped = mapPayError(api, res.status, code, requestId)
      if (res.status < 500) {
        // A 4xx is acted on (ORDER_NOT_EXIST closes an expired order, ORDER_CLOSED fails a refund), so a signed one
        // must verify, and an unsigned one is believed only where believing it settles nothing: WeChat Pay signs
        // every answer to a request it authenticated, and leaves unsigned only its refusal of our own signature
        // and its front end's rate limit.
        if (headerValue(res.headers, 'wechatpay-signature') !== undefined) this.verifyResponse(api, res, requestId)
        else if (!(mapped instanceof WechatErrors.PayAuthFailed || mapped instanceof WechatErrors.PayRateLimited)) {
          this.opts.log.error({ api, status: res.status, code, requestId }, 'wechatpay error answer is unsigned; ignored')
          throw annotate(new WechatErrors.PayResponseUnverified(), { details: { api, reason: 'unsigned', wechatStatus: res.status, ...(code === undefined ? {} : { wechatCode: code }), ...(requestId === undefined ? {} : { requestId }) } })
        }
      }
      throw mapped
    }
  }

  private verifyResponse (api: string, res: RawResponse, requestId: string | undefined): void {
    try {
      this.verifier.verify(res.headers, res.body)
    } catch (err) {
      if (!(err instanceof SignatureRejected)) throw err
      this.opts.log.error({ api, status: res.status, reason: err.reason, serial: err.serial, requestId }, 'wechatpay response signature rejected')
      throw annotate(new WechatErrors.PayResponseUnverified(), { details: { api, reason: err.reason, ...(requestId === undefined ? {} : { requestId }) } })
    }
  }

  private async pause (api: string, attempt: number, why: string): Promise<void> {
    const ms = backoffMs(attempt, this.retryBaseMs)
    this.opts.log.warn({ api, attempt: attempt + 1, retryInMs: ms, why }, 'wechatpay call failed; retrying with the same body')
    await sleep(ms)
  }
}
