import { createHash, randomInt } from 'node:crypto'

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

function stamp (date: Date): string {
  // Beijing time, as merchants and WeChat Pay support read order numbers.
  return new Date(date.getTime() + 8 * 3600_000).toISOString().replace(/[-:T]/g, '').slice(2, 14)
}

function random (n: number): string {
  return Array.from({ length: n }, () => ALNUM[randomInt(ALNUM.length)]).join('')
}

/**
 * A merchant order number within WeChat Pay's rules (6-32 of [A-Za-z0-9_-|*]): `P`, the Beijing time to the second,
 * and 12 random characters (71 bits), so numbers never collide and still sort and read by date.
 */
export function newOutTradeNo (now = new Date()): string {
  return `P${stamp(now)}${random(12)}`
}

/** A merchant refund number (WeChat Pay: 1-64 of [A-Za-z0-9_-|*@]). */
export function newOutRefundNo (now = new Date()): string {
  return `R${stamp(now)}${random(12)}`
}

/**
 * The id of the one event a fact produces (`payment.succeeded` of an order, `payment.refunded` of a refund): a UUID
 * derived from both, so even two writers of the same fact would publish one message under one Nats-Msg-Id.
 */
export function eventId (kind: string, subjectId: string): string {
  const h = createHash('sha256').update(`${kind}:${subjectId}`).digest()
  h[6] = (h[6]! & 0x0f) | 0x80 // version 8: custom
  h[8] = (h[8]! & 0x3f) | 0x80 // RFC 9562 variant
  const hex = h.subarray(0, 16).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** A stable fingerprint of a request's meaningful fields, to tell "the same request again" from "another request". */
export function requestHash (parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url')
}
