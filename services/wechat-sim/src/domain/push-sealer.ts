import { createCipheriv, createHash, randomBytes, randomInt } from 'node:crypto'

// The platform's half of WeChat's message push encryption (消息加解密), for the pushes the simulator sends. The
// merchant's half lives in @wxmp/wechat (PushCodec), which this package cannot depend on: that package's tests run
// against this simulator. Its tests open these pushes with PushCodec, so the two halves are checked against each other.

export type PushMode = 'plain' | 'compatible' | 'safe'
export type PushFormat = 'json' | 'xml'

export interface PushSettings {
  /** The merchant's push URL; nothing is sent while it is empty. */
  url: string
  token: string
  /** 43 characters; required in compatible and safe mode. */
  encodingAesKey: string
  mode: PushMode
  format: PushFormat
}

const sha1Sorted = (...v: string[]): string => createHash('sha1').update([...v].sort().join('')).digest('hex')

function encrypt (encodingAesKey: string, appid: string, message: string): string {
  const key = Buffer.from(encodingAesKey + '=', 'base64')
  const body = Buffer.from(message, 'utf8')
  const length = Buffer.alloc(4)
  length.writeUInt32BE(body.length)
  const plain = Buffer.concat([randomBytes(16), length, body, Buffer.from(appid, 'utf8')])
  const pad = 32 - (plain.length % 32)
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16))
  cipher.setAutoPadding(false)
  return Buffer.concat([cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])), cipher.final()]).toString('base64')
}

function serialize (format: PushFormat, message: Record<string, unknown>): string {
  if (format === 'json') return JSON.stringify(message)
  const parts = Object.entries(message).filter(([, v]) => v !== undefined).map(([k, v]) =>
    typeof v === 'number' ? `<${k}>${v}</${k}>` : `<${k}><![CDATA[${String(v).replaceAll(']]>', ']]]]><![CDATA[>')}]]></${k}>`)
  return `<xml>${parts.join('')}</xml>`
}

/** The query string and body of one push, signed (and encrypted) as WeChat sends it; fresh timestamp and nonce. */
export function sealPush (settings: PushSettings, appid: string, message: Record<string, unknown>): { query: URLSearchParams, body: string, contentType: string } {
  const timestamp = String(Math.floor(Date.now() / 1000))
  const nonce = String(randomInt(1_000_000_000, 2_000_000_000))
  const query = new URLSearchParams({ signature: sha1Sorted(settings.token, timestamp, nonce), timestamp, nonce })
  if (typeof message.FromUserName === 'string') query.set('openid', message.FromUserName)
  const contentType = settings.format === 'json' ? 'application/json' : 'text/xml'
  if (settings.mode === 'plain') return { query, body: serialize(settings.format, message), contentType }
  const encrypted = encrypt(settings.encodingAesKey, appid, serialize(settings.format, message))
  query.set('encrypt_type', 'aes')
  query.set('msg_signature', sha1Sorted(settings.token, timestamp, nonce, encrypted))
  const outer = settings.mode === 'safe' ? { ToUserName: message.ToUserName, Encrypt: encrypted } : { ...message, Encrypt: encrypted }
  return { query, body: serialize(settings.format, outer), contentType }
}
