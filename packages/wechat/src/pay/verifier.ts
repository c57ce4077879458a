import { X509Certificate, type KeyObject } from 'node:crypto'
import { responseMessage, SIGNATURE_SCHEME, toPublicKey, verifySignature, type PublicKeyInput } from './crypto.js'

/** Why a signature was refused; reported in the error details and logs. */
export type RejectReason = 'missing_headers' | 'unsupported_signature_type' | 'timestamp_out_of_window' | 'unknown_serial' | 'bad_signature'

export class SignatureRejected extends Error {
  constructor (readonly reason: RejectReason, readonly serial?: string) {
    super(`wechatpay signature rejected: ${reason}`)
    this.name = 'SignatureRejected'
  }
}

/** Headers as fetch gives them (Headers), or as Node/Fastify give them (lower-case record, maybe arrays). */
export type HeaderSource = Headers | Record<string, string | string[] | undefined>

export function headerValue (headers: HeaderSource, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined
  const lower = name.toLowerCase()
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === lower) return Array.isArray(v) ? v[0] : v
  }
  return undefined
}

export interface VerifierOptions {
  /** Public-key mode: `PUB_KEY_ID_...` -> the WeChat Pay public key. Several during a migration. */
  publicKeys?: Map<string, PublicKeyInput> | Record<string, PublicKeyInput>
  /** Certificate mode: WeChat Pay platform certificates; each is found by its serial number. */
  certificates?: Array<X509Certificate | string | Buffer>
  /** Largest accepted distance between Wechatpay-Timestamp and now. */
  windowSeconds?: number
  /** Clock, for tests. */
  now?: () => number
}

interface CertKey { key: KeyObject, notBefore: number, notAfter: number }

/**
 * Verifies WeChat Pay signatures (responses and notifications) over the exact body bytes, choosing the key by
 * `Wechatpay-Serial` among public keys and platform certificates. Nothing is skipped: a missing header, a stale
 * timestamp, an unknown serial or a wrong signature is a rejection.
 */
export class WechatPayVerifier {
  private readonly keys = new Map<string, KeyObject>()
  private readonly certs = new Map<string, CertKey>()
  private readonly windowSeconds: number
  private readonly now: () => number

  constructor (opts: VerifierOptions) {
    const entries = opts.publicKeys instanceof Map ? [...opts.publicKeys.entries()] : Object.entries(opts.publicKeys ?? {})
    for (const [serial, key] of entries) this.keys.set(serial, toPublicKey(key))
    for (const c of opts.certificates ?? []) {
      const cert = c instanceof X509Certificate ? c : new X509Certificate(c)
      this.certs.set(normalizeSerial(cert.serialNumber), { key: cert.publicKey, notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) })
    }
    if (this.keys.size === 0 && this.certs.size === 0) throw new Error('WechatPayVerifier needs at least one WeChat Pay public key or platform certificate')
    this.windowSeconds = opts.windowSeconds ?? 300
    this.now = opts.now ?? Date.now
  }

  /** The serials this verifier accepts. */
  serials (): string[] {
    return [...this.keys.keys(), ...this.certs.keys()]
  }

  private keyFor (serial: string): KeyObject | undefined {
    const key = this.keys.get(serial)
    if (key !== undefined) return key
    const cert = this.certs.get(normalizeSerial(serial))
    const now = this.now()
    // An expired platform certificate no longer vouches for anything.
    return cert !== undefined && now >= cert.notBefore && now <= cert.notAfter ? cert.key : undefined
  }

  /** Throws SignatureRejected unless `headers` carry a valid WeChat Pay signature of `body`. */
  verify (headers: HeaderSource, body: Buffer | string): void {
    const serial = headerValue(headers, 'wechatpay-serial')
    const signature = headerValue(headers, 'wechatpay-signature')
    const timestamp = headerValue(headers, 'wechatpay-timestamp')
    const nonce = headerValue(headers, 'wechatpay-nonce')
    const type = headerValue(headers, 'wechatpay-signature-type')
    if (serial === undefined || signature === undefined || timestamp === undefined || nonce === undefined || serial === '' || nonce === '') {
      throw new SignatureRejected('missing_headers', serial)
    }
    if (type !== undefined && type !== SIGNATURE_SCHEME) throw new SignatureRejected('unsupported_signature_type', serial)
    if (!/^\d{1,12}$/.test(timestamp) || Math.abs(this.now() / 1000 - Number(timestamp)) > this.windowSeconds) {
      throw new SignatureRejected('timestamp_out_of_window', serial)
    }
    const key = this.keyFor(serial)
    if (key === undefined) throw new SignatureRejected('unknown_serial', serial)
    if (!verifySignature(responseMessage(timestamp, nonce, body), signature, key)) throw new SignatureRejected('bad_signature', serial)
  }
}

/** Certificate serials appear as upper-case hex; X509Certificate may keep leading zeros or vary in case. */
function normalizeSerial (serial: string): string {
  return serial.toUpperCase().replace(/^0+(?=.)/, '')
}
