import { annotate, type Log } from '@wxmp/core'
import { WechatErrors } from './errors.js'
import { backoffMs, parseJsonObject, send, sleep, TransportError } from './http.js'

/** WeChat's answer to a server API call: its errcode (0 when the body has none), errmsg and the whole body. */
export interface WechatReply { errcode: number, errmsg: string, body: Record<string, unknown> }

/** access_token rejected: invalid or not latest (40001), expired (42001), malformed (40014). */
export const TOKEN_ERRORS: ReadonlySet<number> = new Set([40001, 42001, 40014])

export interface ServerApiSettings {
  timeoutMs: number
  /** Retries of what WeChat asks to retry (-1 "system busy", 5xx, a refused connection), for retryable calls. */
  retries: number
  /** First backoff between retries; doubles each time, with jitter. */
  retryBaseMs: number
  log: Log
}

export interface ServerApiCall {
  /** The API's name, for logs and error details. */
  api: string
  url: string
  method?: 'GET' | 'POST'
  /** The exact JSON text to send (signatures may cover it). */
  body?: string
  /**
   * Whether a failure may be retried, and a failed call is known to have changed nothing. A call that is not (an
   * upload, a refund) is sent once, and its errors say `uncertain: true` in their details when WeChat may have
   * acted on it. A timeout is never retried: the call may have consumed a single-use code.
   */
  retryable: boolean
}

/**
 * One call to a WeChat server API with the shared rules: bounded retries with backoff of what may be retried,
 * transport failures as WECHAT_TIMEOUT / WECHAT_UNAVAILABLE, a 5xx or a body that is not JSON as unavailable or
 * upstream, and the errcode read from the body. A non-zero errcode is returned, for the caller's own mapping.
 */
export async function callServerApi (s: ServerApiSettings, c: ServerApiCall): Promise<WechatReply> {
  const { api, retryable } = c
  const uncertain = retryable ? {} : { uncertain: true }
  for (let attempt = 0; ; attempt++) {
    const retry = retryable && attempt < s.retries
    let res
    try {
      res = await send(c.url, {
        method: c.method ?? 'POST',
        timeoutMs: s.timeoutMs,
        ...(c.body === undefined ? {} : { body: c.body, headers: { 'content-type': 'application/json' } })
      })
    } catch (err) {
      if (!(err instanceof TransportError)) throw err
      if (err.kind === 'timeout') {
        s.log.warn({ api }, 'wechat call timed out')
        throw annotate(new WechatErrors.Timeout(), { details: { api, ...uncertain } })
      }
      if (retry) { await pause(s, api, attempt, err.message); continue }
      throw annotate(new WechatErrors.Unavailable(), { details: { api, ...uncertain } })
    }
    const body = parseJsonObject(res.body)
    if (res.status >= 500 || body === undefined) {
      if (retry) { await pause(s, api, attempt, `HTTP ${res.status}`); continue }
      throw annotate(res.status >= 500 ? new WechatErrors.Unavailable() : new WechatErrors.Upstream(), { details: { api, status: res.status, ...uncertain } })
    }
    // A success body may omit errcode altogether (code2Session does).
    const errcode = typeof body.errcode === 'number' ? body.errcode : Number(body.errcode ?? 0)
    const reply: WechatReply = { errcode: Number.isFinite(errcode) ? errcode : -1, errmsg: typeof body.errmsg === 'string' ? body.errmsg : '', body }
    if (reply.errcode === -1 && retry) { await pause(s, api, attempt, 'system busy'); continue }
    if (reply.errcode !== 0) s.log.info({ api, errcode: reply.errcode, errmsg: reply.errmsg }, 'wechat returned an error')
    return reply
  }
}

async function pause (s: ServerApiSettings, api: string, attempt: number, why: string): Promise<void> {
  const ms = backoffMs(attempt, s.retryBaseMs)
  s.log.warn({ api, attempt: attempt + 1, retryInMs: ms, why }, 'wechat call failed; retrying')
  await sleep(ms)
}

/** What hands out the server access_token and drops one WeChat refused (the mini-program client's cache). */
export interface AccessTokenSource {
  get: () => Promise<string>
  drop: (token: string) => Promise<boolean>
}

/**
 * Runs a call with the current access_token; when WeChat refuses the token (another holder replaced it), drops the
 * cached one and runs it once more with the current token. A refused token changed nothing at WeChat, so even a
 * call that is not retryable is safe to send again.
 */
export async function withAccessToken (tokens: AccessTokenSource, api: string, log: Log, fn: (token: string) => Promise<WechatReply>): Promise<WechatReply> {
  const token = await tokens.get()
  const first = await fn(token)
  if (!TOKEN_ERRORS.has(first.errcode)) return first
  const dropped = await tokens.drop(token)
  log.warn({ api, errcode: first.errcode, dropped }, 'wechat rejected the access_token; retrying once with the current one')
  return await fn(await tokens.get())
}
