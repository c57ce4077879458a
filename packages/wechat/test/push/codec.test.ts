import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { decryptPushMessage, encryptPushMessage, pushAesKey, pushSignature } from '../../src/push/crypto.js'
import { PushCodec, type PushCodecOptions } from '../../src/push/codec.js'
import { parseFlatXml } from '../../src/push/xml.js'
import { caught } from '../helpers/setup.js'

// WeChat's official encryption sample (WXBizMsgCrypt, the Sample.cs / sample.py shipped with the
// 消息加解密 download, also reproduced in WeCom's doc https://developer.work.weixin.qq.com/document/path/90968):
// token QDG6eK, appid/receiveid wx5823bf96d3bd56c7, EncodingAESKey jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C.
const SAMPLE = { token: 'QDG6eK', appid: 'wx5823bf96d3bd56c7', encodingAesKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C' }
const SAMPLE_ENCRYPT = 'RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=='
const SAMPLE_POST = { msg_signature: '477715d11cdb4164915debcba66cb864d751f3e6', timestamp: '1409659813', nonce: '1372623149' }
const SAMPLE_BODY = `<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[${SAMPLE_ENCRYPT}]]></Encrypt></xml>`
// The sample's URL verification (VerifyURL): an encrypted echostr whose plaintext is 1616140317555161061.
const SAMPLE_VERIFY = { msg_signature: '5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3', timestamp: '1409659589', nonce: '263014780', echostr: 'P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==' }

// The plain `signature` is SHA-1 over the sorted token, timestamp and nonce, computed here with node:crypto alone.
const sha1Sorted = (...v: string[]): string => createHash('sha1').update(v.sort().join('')).digest('hex')

const codec = (opts: Partial<PushCodecOptions> = {}): PushCodec => new PushCodec({ ...SAMPLE, mode: 'safe', format: 'xml', ...opts })

t.test('the official sample: msg_signature, decryption and the appid at the tail', async (t) => {
  t.equal(pushSignature(SAMPLE.token, SAMPLE_POST.timestamp, SAMPLE_POST.nonce, SAMPLE_ENCRYPT), SAMPLE_POST.msg_signature)
  const query = { ...SAMPLE_POST, signature: sha1Sorted(SAMPLE.token, SAMPLE_POST.timestamp, SAMPLE_POST.nonce), encrypt_type: 'aes' }
  const message = codec().open(query, Buffer.from(SAMPLE_BODY))
  t.match(message, { ToUserName: 'wx5823bf96d3bd56c7', FromUserName: 'mycreate', CreateTime: '1409659813', MsgType: 'text', Content: 'hello', MsgId: '4561255354251345929' })

  t.equal(pushSignature(SAMPLE.token, SAMPLE_VERIFY.timestamp, SAMPLE_VERIFY.nonce, SAMPLE_VERIFY.echostr), SAMPLE_VERIFY.msg_signature)
  t.same(decryptPushMessage(pushAesKey(SAMPLE.encodingAesKey), SAMPLE_VERIFY.echostr), { message: '1616140317555161061', appid: SAMPLE.appid })
})

t.test('the sample reply (multi-byte text: the length counts bytes) encrypts and decrypts back', async (t) => {
  // sRespData of the official sample.
  const reply = '<xml><ToUserName><![CDATA[mycreate]]></ToUserName><FromUserName><![CDATA[wx582测试一下中文的情况，消息长度是按字节来算的396d3bd56c7]]></FromUserName><CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[this is a test]]></Content><MsgId>1234567890123456</MsgId></xml>'
  const key = pushAesKey(SAMPLE.encodingAesKey)
  const encrypted = encryptPushMessage(key, SAMPLE.appid, reply, Buffer.alloc(16, 7))
  t.equal(Buffer.from(encrypted, 'base64').length % 32, 0, 'PKCS#7 pads to a 32-byte block')
  t.same(decryptPushMessage(key, encrypted), { message: reply, appid: SAMPLE.appid })
  const body = codec().reply(parseFlatXml(reply)!, { timestamp: SAMPLE_POST.timestamp, nonce: SAMPLE_POST.nonce })
  const fields = parseFlatXml(body)!
  t.equal(fields.TimeStamp, SAMPLE_POST.timestamp)
  t.equal(fields.MsgSignature, pushSignature(SAMPLE.token, SAMPLE_POST.timestamp, SAMPLE_POST.nonce, fields.Encrypt!))
  t.match(parseFlatXml(decryptPushMessage(key, fields.Encrypt!).message), { FromUserName: 'wx582测试一下中文的情况，消息长度是按字节来算的396d3bd56c7', Content: 'this is a test' })
})

t.test('URL verification answers echostr only for a good signature', async (t) => {
  const query = { timestamp: '1700000000', nonce: '42', echostr: 'abc123', signature: sha1Sorted('QDG6eK', '1700000000', '42') }
  t.equal(codec({ mode: 'plain' }).verifyUrl(query), 'abc123')
  t.equal(codec().verifyUrl(query), 'abc123', 'the echostr of a mini-program is plain text in every mode')
  t.match(await caught((async () => codec().verifyUrl({ ...query, signature: sha1Sorted('other', '1700000000', '42') }))()), { code: 'WECHAT_PUSH_SIGNATURE_INVALID', statusCode: 401 })
  t.match(await caught((async () => codec().verifyUrl({ ...query, nonce: '43' }))()), { code: 'WECHAT_PUSH_SIGNATURE_INVALID' })
  t.match(await caught((async () => codec().verifyUrl({ ...query, echostr: undefined }))()), { code: 'WECHAT_PUSH_INVALID', statusCode: 400 })
})

t.test('sealed pushes open in every mode and format', async (t) => {
  const event = { ToUserName: 'gh_0123456789ab', FromUserName: 'oUser', CreateTime: 1700000000, MsgType: 'event', Event: 'trade_manage_order_settlement', transaction_id: '4200001234', merchant_trade_no: 'ORDER1' }
  for (const mode of ['plain', 'compatible', 'safe'] as const) {
    for (const format of ['json', 'xml'] as const) {
      const c = codec({ mode, format })
      const sealed = c.seal(event)
      const opened = c.open(sealed.query, sealed.body)
      if (format === 'json') t.same(opened, event, `${mode}/${format}: the decrypted message, never the envelope`)
      else t.match(opened, { ...event, CreateTime: '1700000000' }, `${mode}/${format}`)
      if (mode === 'safe') t.notMatch(sealed.body, /merchant_trade_no/, 'safe mode carries no plaintext')
      if (mode !== 'plain') t.equal(sealed.query.encrypt_type, 'aes')
    }
  }
})

t.test('bad signatures, bad ciphertexts and other apps are refused', async (t) => {
  const c = codec({ format: 'json' })
  const sealed = c.seal({ ToUserName: 'gh_x', MsgType: 'event', Event: 'x' })
  const body = JSON.parse(sealed.body) as { Encrypt: string }
  const open = async (query: Record<string, string | undefined>, raw: string): Promise<unknown> => c.open(query, raw)
  t.match(await caught(open({ ...sealed.query, signature: 'f'.repeat(40) }, sealed.body)), { code: 'WECHAT_PUSH_SIGNATURE_INVALID', statusCode: 401 })
  t.match(await caught(open({ ...sealed.query, msg_signature: 'f'.repeat(40) }, sealed.body)), { code: 'WECHAT_PUSH_SIGNATURE_INVALID' })
  t.match(await caught(open({ ...sealed.query, msg_signature: undefined }, sealed.body)), { code: 'WECHAT_PUSH_SIGNATURE_INVALID' })
  t.match(await caught(open({ ...sealed.query, timestamp: undefined }, sealed.body)), { code: 'WECHAT_PUSH_SIGNATURE_INVALID' })

  // A ciphertext changed after signing: the msg_signature no longer matches.
  const flipped = Buffer.from(body.Encrypt, 'base64')
  flipped[20] = flipped[20]! ^ 1
  const tampered = JSON.stringify({ ...body, Encrypt: flipped.toString('base64') })
  t.match(await caught(open(sealed.query, tampered)), { code: 'WECHAT_PUSH_SIGNATURE_INVALID' })

  // Correctly signed garbage (as a sender holding the token but not the key would make): it does not decrypt.
  const garbage = randomBytes(64).toString('base64')
  const signedGarbage = { ...sealed.query, msg_signature: pushSignature(SAMPLE.token, sealed.query.timestamp!, sealed.query.nonce!, garbage) }
  t.match(await caught(open(signedGarbage, JSON.stringify({ ...body, Encrypt: garbage }))), { code: 'WECHAT_PUSH_INVALID', statusCode: 400 })

  // Encrypted for another app with the same key.
  const other = encryptPushMessage(pushAesKey(SAMPLE.encodingAesKey), 'wx0000000000000000', '{"MsgType":"event"}')
  const signedOther = { ...sealed.query, msg_signature: pushSignature(SAMPLE.token, sealed.query.timestamp!, sealed.query.nonce!, other) }
  t.match(await caught(open(signedOther, JSON.stringify({ Encrypt: other }))), { code: 'WECHAT_PUSH_INVALID' })

  t.match(await caught(open(sealed.query, 'not json')), { code: 'WECHAT_PUSH_INVALID' })
  const stale = codec({ maxSkewSeconds: 300 })
  const old = stale.seal({ MsgType: 'event' }, { timestamp: '1409659813' })
  t.match(await caught((async () => stale.open(old.query, old.body))()), { code: 'WECHAT_PUSH_SIGNATURE_INVALID' })
})

t.test('the XML reader takes WeChat\'s flat documents and refuses the rest', async (t) => {
  t.same(parseFlatXml('<xml><A><![CDATA[x<y]]></A>\n<B>12</B><C>a&amp;b</C></xml>'), { A: 'x<y', B: '12', C: 'a&b' })
  t.equal(parseFlatXml('<xml><A><B>1</B></A></xml>'), undefined)
  t.equal(parseFlatXml('<root><A>1</A></root>'), undefined)
  t.equal(parseFlatXml('{"A":1}'), undefined)
})

t.test('keys and tokens of the wrong shape fail at construction', async (t) => {
  t.throws(() => codec({ encodingAesKey: 'short' }))
  t.throws(() => codec({ encodingAesKey: undefined }))
  t.throws(() => codec({ token: 'x' }))
  t.doesNotThrow(() => codec({ mode: 'plain', encodingAesKey: undefined }))
})
