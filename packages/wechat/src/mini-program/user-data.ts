import { createDecipheriv, createHmac } from 'node:crypto'
import { WechatErrors } from '../errors.js'

function base64Bytes (value: string, expected: number | undefined, what: string): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) throw new WechatErrors.UserDataInvalid(`${what} is not base64`)
  const bytes = Buffer.from(value, 'base64')
  if (expected !== undefined && bytes.length !== expected) throw new WechatErrors.UserDataInvalid(`${what} must be ${expected} bytes`)
  return bytes
}

/**
 * Decrypts legacy `encryptedData` from the mini-program (wx.getUserInfo, wx.getWeRunData...): AES-128-CBC with
 * the user's session_key and the given iv, PKCS#7 padding. Data whose `watermark.appid` is not `appid` was made
 * for another app and is rejected.
 */
export function decryptUserData (encryptedData: string, iv: string, sessionKey: string, appid: string): Record<string, unknown> {
  const key = base64Bytes(sessionKey, 16, 'session_key')
  const ivBytes = base64Bytes(iv, 16, 'iv')
  const data = base64Bytes(encryptedData, undefined, 'encryptedData')
  if (data.length === 0 || data.length % 16 !== 0) throw new WechatErrors.UserDataInvalid('encryptedData is not whole AES blocks')
  let plain: string
  try {
    const decipher = createDecipheriv('aes-128-cbc', key, ivBytes)
    plain = Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8')
  } catch {
    throw new WechatErrors.UserDataInvalid('it does not decrypt with this session_key')
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(plain)
  } catch {
    throw new WechatErrors.UserDataInvalid('it does not decrypt with this session_key')
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new WechatErrors.UserDataInvalid('it is not a JSON object')
  const watermark = (parsed as { watermark?: { appid?: unknown } }).watermark
  if (watermark?.appid !== appid) throw new WechatErrors.UserDataInvalid('its watermark is for another app')
  return parsed as Record<string, unknown>
}

/** The user login-state signature WeChat checks in checkSessionKey: hex HMAC-SHA256 of `payload` keyed by session_key. */
export function sessionSignature (sessionKey: string, payload = ''): string {
  return createHmac('sha256', sessionKey).update(payload).digest('hex')
}
