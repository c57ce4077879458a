import { createHash } from 'node:crypto'
import type { Pool } from 'pg'
import { Events, type WechatPushReply } from '@wxmp/contracts'
import { businessCounter, withTransaction, type Log, type TraceContext } from '@wxmp/core'
import { enqueueEvent } from '@wxmp/service'
import type { PushCodec, PushMessage, PushQuery } from '@wxmp/wechat'

const pushes = businessCounter('auth_wechat_pushes_total', 'Message pushes by event and outcome (published, duplicate)', ['event', 'outcome'] as const)

/** WeChat's answer to a push it must not resend; anything else (or nothing within 5 s) makes it retry. */
export const PUSH_ACK = 'success'

/**
 * Virtual-payment pushes (`xpay_*`) must be answered with ErrCode 0, in the push format, or WeChat sends them again
 * (and, for a delivery, eventually refunds the buyer):
 * https://developers.weixin.qq.com/miniprogram/dev/platform-capabilities/industry/virtual-payment.html
 */
export function pushAck (event: string, format: 'json' | 'xml'): { body: string, contentType?: string } {
  if (!event.startsWith('xpay_')) return { body: PUSH_ACK }
  return format === 'xml'
    ? { body: '<xml><ErrCode>0</ErrCode><ErrMsg><![CDATA[success]]></ErrMsg></xml>', contentType: 'text/xml; charset=utf-8' }
    : { body: JSON.stringify({ ErrCode: 0, ErrMsg: 'success' }), contentType: 'application/json; charset=utf-8' }
}

/** The keys of the query string WeChat adds to the push URL. */
const QUERY_KEYS = ['signature', 'timestamp', 'nonce', 'echostr', 'openid', 'encrypt_type', 'msg_signature'] as const

/** The push query from the raw query string the gateway forwards; unknown keys are ignored. */
export function parsePushQuery (search: string): PushQuery {
  const params = new URLSearchParams(search.startsWith('?') ? search.slice(1) : search)
  const query: PushQuery = {}
  for (const key of QUERY_KEYS) {
    const v = params.get(key)
    if (v !== null) query[key] = v
  }
  return query
}

/** The push's event name: `Event` for event pushes, `MsgType` for messages. */
export function pushEventOf (message: PushMessage): string {
  const event = message.Event
  if (typeof event === 'string' && event !== '') return event
  const type = message.MsgType
  return typeof type === 'string' && type !== '' ? type : 'unknown'
}

/** A JSON text of a value with object keys sorted, so the same fields always hash the same. */
function canonical (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/**
 * The key a push is deduplicated by: its MsgId when it has one (messages), else a hash of its event and every
 * field (event pushes have no MsgId; a retry resends the same fields, CreateTime included). JSON numbers and XML
 * strings of the same push hash alike.
 */
export function pushDedupeKey (message: PushMessage): string {
  const id = message.MsgId ?? message.MsgID
  if ((typeof id === 'string' && id !== '') || typeof id === 'number') return `msg:${String(id)}`
  const fields = Object.fromEntries(Object.entries(message).map(([k, v]) => [k, typeof v === 'number' ? String(v) : v]))
  return `sha256:${createHash('sha256').update(pushEventOf(message)).update('\n').update(canonical(fields)).digest('hex')}`
}

/** A UUID derived from the dedupe key: the event id, so even two racing replicas would name the event alike. */
function eventIdOf (key: string): string {
  const h = createHash('sha256').update(key).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`
}

/**
 * The mini-program's message push (消息推送): verifies each push with the codec, records its dedupe key and
 * enqueues `events.wechat.<event>` in one transaction, so a push is published once however often WeChat retries it,
 * and one that fails verification is refused before anything is written.
 */
export class PushReceiver {
  constructor (private readonly pool: Pool, private readonly codec: PushCodec) {}

  /** A GET (URL verification, answered with `echostr`) or a POST (a push, answered with `success`, or ErrCode 0 for xpay_*). */
  async receive (method: string, search: string, body: Uint8Array, trace: TraceContext, log: Log): Promise<WechatPushReply> {
    const query = parsePushQuery(search)
    if (method === 'GET') return { body: this.codec.verifyUrl(query), duplicate: false }
    const message = this.codec.open(query, Buffer.from(body.buffer, body.byteOffset, body.byteLength))
    const event = pushEventOf(message)
    const dedupeKey = pushDedupeKey(message)
    const id = eventIdOf(dedupeKey)
    const published = await withTransaction(this.pool, async (client) => {
      const { rowCount } = await client.query(
        'INSERT INTO wechat_pushes (dedupe_key, event, event_id) VALUES ($1, $2, $3) ON CONFLICT (dedupe_key) DO NOTHING',
        [dedupeKey, event, id]
      )
      if (rowCount !== 1) return false
      const msgType = typeof message.MsgType === 'string' ? message.MsgType : 'event'
      await enqueueEvent(client, Events.wechatPush(event), { event, msgType, dedupeKey, receivedAt: new Date().toISOString(), message }, { id, trace })
      return true
    })
    pushes.inc({ event, outcome: published ? 'published' : 'duplicate' })
    log.info({ event, dedupeKey, duplicate: !published }, published ? 'message push accepted' : 'message push seen before')
    return { ...pushAck(event, this.codec.format), duplicate: !published }
  }
}
