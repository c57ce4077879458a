import { createDecipheriv, createPrivateKey, createPublicKey, createSign, createVerify, KeyObject, randomBytes, X509Certificate } from 'node:crypto'

/** The scheme of every APIv3 signature: RSA 2048 with SHA-256 (PKCS#1 v1.5). */
export const SIGNATURE_SCHEME = 'WECHATPAY2-SHA256-RSA2048'

export type PrivateKeyInput = KeyObject | string | Buffer
export type PublicKeyInput = KeyObject | string | Buffer | X509Certificate

export function toPrivateKey (key: PrivateKeyInput): KeyObject {
  return key instanceof KeyObject ? key : createPrivateKey(key)
}

/** A public key from a KeyObject, a PEM public key, or a PEM or parsed certificate. */
export function toPublicKey (key: PublicKeyInput): KeyObject {
  if (key instanceof X509Certificate) return key.publicKey
  if (key instanceof KeyObject) return key
  const pem = typeof key === 'string' ? key : key.toString('utf8')
  if (pem.includes('BEGIN CERTIFICATE')) return new X509Certificate(pem).publicKey
  return createPublicKey(pem)
}

/** A nonce from the system CSPRNG: 32 upper-case hex characters. */
export function randomNonce (): string {
  return randomBytes(16).toString('hex').toUpperCase()
}

/** Base64 RSA-SHA256 signature of `message`. */
export function signMessage (message: string | Buffer, privateKey: PrivateKeyInput): string {
  return createSign('RSA-SHA256').update(message).sign(toPrivateKey(privateKey), 'base64')
}

/** Whether `signature` (base64) is `publicKey`'s RSA-SHA256 signature of `message`; false for anything malformed. */
export function verifySignature (message: string | Buffer, signature: string, publicKey: PublicKeyInput): boolean {
  if (typeof signature !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false
  try {
    return createVerify('RSA-SHA256').update(message).verify(toPublicKey(publicKey), signature, 'base64')
  } catch {
    return false
  }
}

/** The message a merchant signs for a request: `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n`. */
export function requestMessage (method: string, pathWithQuery: string, timestamp: string, nonce: string, body: string): string {
  return `${method.toUpperCase()}\n${pathWithQuery}\n${timestamp}\n${nonce}\n${body}\n`
}

export interface AuthorizationInput {
  mchid: string
  /** Serial number of the merchant API certificate whose private key signs. */
  serialNo: string
  privateKey: PrivateKeyInput
  method: string
  /** Absolute path with query string, exactly as sent: `/v3/pay/transactions/out-trade-no/X?mchid=1`. */
  pathWithQuery: string
  /** The exact body sent; empty for GET. */
  body: string
  /** Seconds since the epoch; now by default. */
  timestamp?: string
  nonce?: string
}

/** The `Authorization` header of an APIv3 request. */
export function buildAuthorization (input: AuthorizationInput): string {
  const timestamp = input.timestamp ?? String(Math.floor(Date.now() / 1000))
  const nonce = input.nonce ?? randomNonce()
  const signature = signMessage(requestMessage(input.method, input.pathWithQuery, timestamp, nonce, input.body), input.privateKey)
  return `${SIGNATURE_SCHEME} mchid="${input.mchid}",nonce_str="${nonce}",signature="${signature}",timestamp="${timestamp}",serial_no="${input.serialNo}"`
}

/**
 * The message WeChat Pay signs for a response or a notification, over the body's exact bytes:
 * `TIMESTAMP\nNONCE\nBODY\n`. A re-serialised body would not match, by design.
 */
export function responseMessage (timestamp: string, nonce: string, body: Buffer | string): Buffer {
  return Buffer.concat([Buffer.from(`${timestamp}\n${nonce}\n`, 'utf8'), typeof body === 'string' ? Buffer.from(body, 'utf8') : body, Buffer.from('\n', 'utf8')])
}

export interface EncryptedResource {
  algorithm?: string
  ciphertext: string
  nonce: string
  associated_data?: string
  original_type?: string
}

/** Decrypts an AEAD_AES_256_GCM resource with the APIv3 key; throws if it was altered in any way. */
export function decryptResource (resource: EncryptedResource, apiV3Key: string | Buffer): string {
  const key = typeof apiV3Key === 'string' ? Buffer.from(apiV3Key, 'utf8') : apiV3Key
  if (key.length !== 32) throw new Error('the APIv3 key must be 32 bytes')
  if (resource.algorithm !== undefined && resource.algorithm !== 'AEAD_AES_256_GCM') throw new Error(`unsupported algorithm ${resource.algorithm}`)
  const data = Buffer.from(resource.ciphertext, 'base64')
  if (data.length <= 16) throw new Error('ciphertext too short')
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(resource.nonce, 'utf8'))
  decipher.setAuthTag(data.subarray(data.length - 16))
  decipher.setAAD(Buffer.from(resource.associated_data ?? '', 'utf8'))
  return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString('utf8')
}

export interface PayParamsInput {
  appId: string
  timeStamp: string
  nonceStr: string
  package: string
}

/** The `paySign` of wx.requestPayment: RSA-SHA256 over `appId\ntimeStamp\nnonceStr\npackage\n` with the merchant key. */
export function paySign (input: PayParamsInput, privateKey: PrivateKeyInput): string {
  return signMessage(`${input.appId}\n${input.timeStamp}\n${input.nonceStr}\n${input.package}\n`, privateKey)
}
