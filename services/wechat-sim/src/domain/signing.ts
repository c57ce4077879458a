import { createCipheriv, createSign, createVerify, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto'
import { alnum } from './ids.js'

// Written apart from @wxmp/wechat on purpose: the simulator and the client library check each other, so they
// must not share a bug.

export interface SimKeys {
  /** The simulator's WeChat Pay private key and the PUB_KEY_ID_... it signs under. */
  wechatpayPrivateKey: KeyObject
  wechatpayKeyId: string
  /** The merchant's public key and certificate serial, to check request signatures. */
  merchantPublicKey: KeyObject
  merchantSerialNo: string
  mchid: string
  apiV3Key: Buffer
}

/** The Wechatpay-* headers of a response or notification whose body is `body`. */
export function wechatpayHeaders (keys: SimKeys, body: string, opts: { probe?: boolean } = {}): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000))
  const nonce = randomBytes(16).toString('hex').toUpperCase()
  const signature = opts.probe === true
    // WeChat Pay's own probes: a deliberately wrong signature, to catch merchants that skip verification.
    ? `WECHATPAY/SIGNTEST/${randomBytes(64).toString('base64')}`
    : createSign('sha256').update(`${timestamp}\n${nonce}\n${body}\n`, 'utf8').sign(keys.wechatpayPrivateKey).toString('base64')
  return {
    'wechatpay-nonce': nonce,
    'wechatpay-timestamp': timestamp,
    'wechatpay-serial': keys.wechatpayKeyId,
    'wechatpay-signature': signature,
    'wechatpay-signature-type': 'WECHATPAY2-SHA256-RSA2048'
  }
}

/** An AEAD_AES_256_GCM notification resource. */
export function encryptResource (apiV3Key: Buffer, plaintext: string, originalType: string): Record<string, string> {
  const nonce = alnum(12)
  const cipher = createCipheriv('aes-256-gcm', apiV3Key, Buffer.from(nonce, 'utf8'))
  cipher.setAAD(Buffer.from(originalType, 'utf8'))
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]).toString('base64')
  return { original_type: originalType, algorithm: 'AEAD_AES_256_GCM', ciphertext, associated_data: originalType, nonce }
}

export interface PayError { status: number, code: string, message: string, detail?: unknown }

function parseAuthorization (header: string): Record<string, string> | undefined {
  const m = /^WECHATPAY2-SHA256-RSA2048\s+(.+)$/.exec(header.trim())
  if (m === null) return undefined
  const fields: Record<string, string> = {}
  const re = /\s*([a-z_]+)="([^"]*)"\s*(?:,|$)/gy
  const rest = m[1] as string
  let match: RegExpExecArray | null
  let consumed = 0
  while ((match = re.exec(rest)) !== null) {
    fields[match[1] as string] = match[2] as string
    consumed = re.lastIndex
  }
  return consumed === rest.length ? fields : undefined
}

const FORMAT_ERROR: PayError = { status: 401, code: 'SIGN_ERROR', message: 'Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》' }

/**
 * Checks a merchant request's Authorization header the way WeChat Pay does: scheme, merchant, certificate
 * serial, timestamp window, then the RSA signature over `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n`.
 */
export function verifyMerchantRequest (keys: SimKeys, windowSeconds: number, method: string, url: string, body: string, header: string | undefined): PayError | undefined {
  if (header === undefined || header === '') return { ...FORMAT_ERROR, message: 'Http头缺少Authorization或格式错误' }
  const f = parseAuthorization(header)
  if (f === undefined) return FORMAT_ERROR
  const { mchid, nonce_str: nonce, signature, timestamp, serial_no: serial } = f
  if (mchid === undefined || nonce === undefined || signature === undefined || timestamp === undefined || serial === undefined) return FORMAT_ERROR
  if (mchid !== keys.mchid) return { status: 400, code: 'MCH_NOT_EXISTS', message: '商户号不存在' }
  if (serial.toUpperCase() !== keys.merchantSerialNo.toUpperCase()) {
    return { status: 401, code: 'SIGN_ERROR', message: '商户证书序列号有误。请使用签名私钥匹配的证书序列号', detail: { field: 'serial_no', location: 'authorization', value: serial } }
  }
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > windowSeconds) {
    return { status: 401, code: 'SIGN_ERROR', message: 'Http头Authorization中的时间戳已过期', detail: { field: 'timestamp', location: 'authorization', value: timestamp } }
  }
  const message = `${method}\n${url}\n${timestamp}\n${nonce}\n${body}\n`
  let ok = false
  try {
    ok = createVerify('sha256').update(message, 'utf8').verify(keys.merchantPublicKey, Buffer.from(signature, 'base64'))
  } catch {
    ok = false
  }
  if (ok) return undefined
  // Like WeChat Pay, show what was verified, with the body cut short so a secret in it does not travel back.
  const truncated = `${method}\n${url}\n${timestamp}\n${nonce}\n${body.slice(0, 8)}\n`
  return {
    status: 401,
    code: 'SIGN_ERROR',
    message: '错误的签名，验签失败',
    detail: {
      detail: { issue: 'sign not match' },
      field: 'signature',
      location: 'authorization',
      sign_information: { method, sign_message_length: Buffer.byteLength(message, 'utf8'), truncated_sign_message: truncated, url }
    }
  }
}

export function sameString (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
