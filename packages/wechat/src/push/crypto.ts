import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto'

// WeChat's message encryption (消息加解密): AES-256-CBC, key = base64(EncodingAESKey + '='), IV = the key's first
// 16 bytes, PKCS#7 padding to a 32-byte block, plaintext = 16 random bytes + 4-byte big-endian length + message + appid.
// https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html
const BLOCK = 32

/** SHA-1 over the lexicographically sorted values: `signature` (token, timestamp, nonce) and `msg_signature` (+ Encrypt). */
export function pushSignature (...values: string[]): string {
  return createHash('sha1').update([...values].sort().join('')).digest('hex')
}

/** Compares a received signature with the expected one in constant time. */
export function signatureMatches (expected: string, received: unknown): boolean {
  if (typeof received !== 'string' || received.length !== expected.length) return false
  return timingSafeEqual(Buffer.from(expected), Buffer.from(received.toLowerCase()))
}

/** The 32-byte AES key of a 43-character EncodingAESKey; throws on any other shape. */
export function pushAesKey (encodingAesKey: string): Buffer {
  if (!/^[A-Za-z0-9+/]{43}$/.test(encodingAesKey)) throw new Error('EncodingAESKey must be 43 characters of base64')
  const key = Buffer.from(encodingAesKey + '=', 'base64')
  if (key.length !== 32) throw new Error('EncodingAESKey does not decode to 32 bytes')
  return key
}

/** Encrypts `message` for `appid`; `random` (16 bytes) is fresh unless a test pins it. */
export function encryptPushMessage (key: Buffer, appid: string, message: string, random: Buffer = randomBytes(16)): string {
  const body = Buffer.from(message, 'utf8')
  const length = Buffer.alloc(4)
  length.writeUInt32BE(body.length)
  const plain = Buffer.concat([random, length, body, Buffer.from(appid, 'utf8')])
  const pad = BLOCK - (plain.length % BLOCK)
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16))
  cipher.setAutoPadding(false)
  return Buffer.concat([cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])), cipher.final()]).toString('base64')
}

/** Decrypts an `Encrypt` value into the message and the appid at its tail; throws when it is not well formed. */
export function decryptPushMessage (key: Buffer, encrypted: string): { message: string, appid: string } {
  const data = Buffer.from(encrypted, 'base64')
  if (data.length === 0 || data.length % 16 !== 0) throw new Error('ciphertext is not a whole number of AES blocks')
  const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16))
  decipher.setAutoPadding(false)
  const plain = Buffer.concat([decipher.update(data), decipher.final()])
  const pad = plain[plain.length - 1]!
  if (pad < 1 || pad > BLOCK || pad > plain.length) throw new Error('bad padding')
  for (let i = plain.length - pad; i < plain.length; i++) if (plain[i] !== pad) throw new Error('bad padding')
  const content = plain.subarray(16, plain.length - pad)
  if (content.length < 4) throw new Error('plaintext too short')
  const length = content.readUInt32BE(0)
  if (4 + length > content.length) throw new Error('message length exceeds the plaintext')
  return { message: content.subarray(4, 4 + length).toString('utf8'), appid: content.subarray(4 + length).toString('utf8') }
}
