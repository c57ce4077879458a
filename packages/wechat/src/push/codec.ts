import { randomInt } from 'node:crypto'
import { WechatErrors } from '../errors.js'
import { parseJsonObject } from '../http.js'
import { decryptPushMessage, encryptPushMessage, pushAesKey, pushSignature, signatureMatches } from './crypto.js'
import { buildFlatXml, parseFlatXml } from './xml.js'

/** 明文模式, 兼容模式 (plaintext and ciphertext side by side), 安全模式 (ciphertext only). */
export type PushMode = 'plain' | 'compatible' | 'safe'
/** The data format chosen in the mini-program console. */
export type PushFormat = 'json' | 'xml'

export interface PushCodecOptions {
  /** The Token set in the console (3-32 characters). */
  token: string
  /** The mini-program's AppID: the tail of every decrypted message must name it. */
  appid: string
  /** The 43-character EncodingAESKey; required in compatible and safe mode. */
  encodingAesKey?: string
  mode: PushMode
  format: PushFormat
  /** Refuse pushes whose timestamp is further than this from now; unchecked when absent. */
  maxSkewSeconds?: number
}

/** The query string WeChat adds to a push URL. */
export interface PushQuery {
  signature?: string
  timestamp?: string
  nonce?: string
  echostr?: string
  openid?: string
  encrypt_type?: string
  msg_signature?: string
}

/** A push message: JSON keeps WeChat's types; XML fields are strings. */
export type PushMessage = Record<string, unknown>

/** A request as WeChat sends it (or the simulator does): the query string to add and the exact body. */
export interface SealedPush { query: Record<string, string>, body: string, contentType: string }

const invalid = (why: string): Error => new WechatErrors.PushMessageInvalid(why)

/**
 * WeChat's message push (消息推送) for one mini-program: URL verification, signature checks, decryption and the
 * appid check of incoming pushes, and the same in the other direction for replies and for the simulator.
 * https://developers.weixin.qq.com/miniprogram/dev/framework/server-ability/message-push.html
 */
export class PushCodec {
  private readonly key: Buffer | undefined

  constructor (private readonly opts: PushCodecOptions) {
    if (!/^[A-Za-z0-9]{3,32}$/.test(opts.token)) throw new Error('the push Token must be 3-32 letters or digits')
    if (opts.mode !== 'plain' && opts.encodingAesKey === undefined) throw new Error(`${opts.mode} mode needs the EncodingAESKey`)
    this.key = opts.encodingAesKey === undefined ? undefined : pushAesKey(opts.encodingAesKey)
  }

  /** The data format pushes (and answers to them) use. */
  get format (): PushFormat {
    return this.opts.format
  }

  /** The GET that proves the URL is ours: answer the returned `echostr` as the plain-text body. */
  verifyUrl (query: PushQuery): string {
    this.checkSignature(query)
    if (typeof query.echostr !== 'string' || query.echostr === '') throw invalid('echostr is missing')
    return query.echostr
  }

  /** Verifies a POSTed push over its raw body and returns the message, decrypted when it came encrypted. */
  open (query: PushQuery, rawBody: Buffer | string): PushMessage {
    const { timestamp, nonce } = this.checkSignature(query)
    const text = typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8')
    const outer = this.parse(text)
    if (outer === undefined) throw invalid(`the body is not ${this.opts.format.toUpperCase()}`)
    const encrypted = outer.Encrypt
    if (this.opts.mode === 'plain' || (this.opts.mode === 'compatible' && encrypted === undefined && query.encrypt_type !== 'aes')) return outer
    if (typeof encrypted !== 'string' || encrypted === '') throw invalid('Encrypt is missing')
    if (!signatureMatches(pushSignature(this.opts.token, timestamp, nonce, encrypted), query.msg_signature)) throw new WechatErrors.PushSignatureInvalid()
    let inner: { message: string, appid: string }
    try {
      inner = decryptPushMessage(this.key!, encrypted)
    } catch {
      throw invalid('Encrypt does not decrypt')
    }
    if (inner.appid !== this.opts.appid) throw invalid('the message is for another app')
    const message = this.parse(inner.message)
    if (message === undefined) throw invalid(`the decrypted message is not ${this.opts.format.toUpperCase()}`)
    return message
  }

  /**
   * A push as WeChat sends it, signed and (in compatible and safe mode) encrypted: for the simulator and tests.
   * `timestamp` and `nonce` are fresh unless given.
   */
  seal (message: PushMessage, at: { timestamp?: string, nonce?: string } = {}): SealedPush {
    const timestamp = at.timestamp ?? String(Math.floor(Date.now() / 1000))
    const nonce = at.nonce ?? String(randomInt(1_000_000_000, 2_000_000_000))
    const query: Record<string, string> = { signature: pushSignature(this.opts.token, timestamp, nonce), timestamp, nonce }
    if (typeof message.FromUserName === 'string') query.openid = message.FromUserName
    if (this.opts.mode === 'plain') return { query, body: this.serialize(message), contentType: this.contentType() }
    const encrypted = encryptPushMessage(this.key!, this.opts.appid, this.serialize(message))
    query.encrypt_type = 'aes'
    query.msg_signature = pushSignature(this.opts.token, timestamp, nonce, encrypted)
    const outer: PushMessage = this.opts.mode === 'safe'
      ? { ToUserName: message.ToUserName ?? '', Encrypt: encrypted }
      : { ...message, Encrypt: encrypted }
    return { query, body: this.serialize(outer), contentType: this.contentType() }
  }

  /** A passive reply body: the message itself in plain mode, else `{Encrypt, MsgSignature, TimeStamp, Nonce}`. */
  reply (message: PushMessage, at: { timestamp?: string, nonce?: string } = {}): string {
    if (this.opts.mode === 'plain') return this.serialize(message)
    const timestamp = at.timestamp ?? String(Math.floor(Date.now() / 1000))
    const nonce = at.nonce ?? String(randomInt(1_000_000_000, 2_000_000_000))
    const encrypted = encryptPushMessage(this.key!, this.opts.appid, this.serialize(message))
    return this.serialize({ Encrypt: encrypted, MsgSignature: pushSignature(this.opts.token, timestamp, nonce, encrypted), TimeStamp: Number(timestamp), Nonce: nonce })
  }

  private checkSignature (query: PushQuery): { timestamp: string, nonce: string } {
    const { timestamp, nonce } = query
    if (typeof timestamp !== 'string' || !/^\d{1,12}$/.test(timestamp) || typeof nonce !== 'string' || nonce === '') throw new WechatErrors.PushSignatureInvalid()
    if (!signatureMatches(pushSignature(this.opts.token, timestamp, nonce), query.signature)) throw new WechatErrors.PushSignatureInvalid()
    if (this.opts.maxSkewSeconds !== undefined && Math.abs(Date.now() / 1000 - Number(timestamp)) > this.opts.maxSkewSeconds) throw new WechatErrors.PushSignatureInvalid()
    return { timestamp, nonce }
  }

  private parse (text: string): PushMessage | undefined {
    return this.opts.format === 'json' ? parseJsonObject(text) : parseFlatXml(text)
  }

  private serialize (message: PushMessage): string {
    if (this.opts.format === 'json') return JSON.stringify(message)
    const flat: Record<string, string | number> = {}
    for (const [k, v] of Object.entries(message)) {
      if (v === undefined || v === null) continue
      flat[k] = typeof v === 'number' ? v : typeof v === 'string' ? v : JSON.stringify(v)
    }
    return buildFlatXml(flat)
  }

  private contentType (): string {
    return this.opts.format === 'json' ? 'application/json' : 'text/xml'
  }
}
