import { Type, type Static } from '@sinclair/typebox'

/**
 * The header that carries the push URL's query string (signature, timestamp, nonce, echostr, msg_signature...) from
 * the gateway to `auth.wechatPush`, exactly as WeChat sent it; the body travels as the raw payload.
 */
export const WECHAT_PUSH_QUERY_HEADER = 'x-wechat-push-query'
/** The HTTP method of the push (GET: URL verification; POST: a message), beside the query string. */
export const WECHAT_PUSH_METHOD_HEADER = 'x-wechat-push-method'

/** auth.wechatPush's answer: the exact text the gateway sends back to WeChat (`echostr`, or `success`). */
export const WechatPushReply = Type.Object({
  body: Type.String(),
  /** The push was seen before: verified, answered, and not published again. */
  duplicate: Type.Boolean(),
  /** The answer's content type when it is not plain text (virtual-payment pushes are answered in JSON or XML). */
  contentType: Type.Optional(Type.String())
})
export type WechatPushReply = Static<typeof WechatPushReply>

/**
 * events.wechat.<event>: one verified push of the mini-program's message push, published once (its dedupe key is
 * the Nats-Msg-Id). `message` is the decrypted message as WeChat sent it (JSON keeps WeChat's types; XML fields are
 * strings).
 */
export const WechatPushEvent = Type.Object({
  id: Type.String({ description: 'Event id, also the Nats-Msg-Id' }),
  /** The push's `Event` (`trade_manage_order_settlement`...), or its `MsgType` when it has none. */
  event: Type.String(),
  msgType: Type.String(),
  /** MsgId, or a hash of the event and its fields when the push has none. */
  dedupeKey: Type.String(),
  receivedAt: Type.String({ format: 'date-time' }),
  message: Type.Record(Type.String(), Type.Unknown())
})
export type WechatPushEvent = Static<typeof WechatPushEvent>

/** The last token of `events.wechat.<event>`: WeChat's event name, kept to what a NATS subject token may hold. */
export function wechatPushEventName (event: string): string {
  const name = event.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64)
  return name === '' ? 'unknown' : name
}
