import t from 'tap'
import { createCipheriv, createSign, createVerify, randomBytes, X509Certificate } from 'node:crypto'
import pino from 'pino'
import { rsaKeyPairSync, selfSignedCert } from '@wxmp/testing'
import { buildAuthorization, decryptResource, paySign, signMessage, verifySignature } from '../../src/pay/crypto.js'
import { WechatPayClient } from '../../src/pay/client.js'
import { decryptUserData, sessionSignature } from '../../src/mini-program/user-data.js'

// Independent vectors: everything here is signed, encrypted or checked with node:crypto directly, following
// WeChat's documented formats, never with the library's own helpers.
const merchant = rsaKeyPairSync()
const wechatpay = rsaKeyPairSync()
const KEY_ID = 'PUB_KEY_ID_0112345678901234567890123456789'
const API_V3_KEY = 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6'
const APPID = 'wx0123456789abcdef'
const MCHID = '1900000109'

function client (opts: Partial<ConstructorParameters<typeof WechatPayClient>[0]> = {}): WechatPayClient {
  return new WechatPayClient({
    baseUrl: 'http://127.0.0.1:9',
    mchid: MCHID,
    appid: APPID,
    merchantSerialNo: 'ABCDEF0123456789',
    merchantPrivateKey: merchant.privateKey,
    apiV3Key: API_V3_KEY,
    wechatpayPublicKeys: { [KEY_ID]: wechatpay.publicKey },
    notifyUrl: 'https://example.com/notify',
    log: pino({ level: 'silent' }),
    ...opts
  })
}

function encrypt (plaintext: string, aad: string, nonce = 'abcdef123456', key = API_V3_KEY): Record<string, string> {
  const c = createCipheriv('aes-256-gcm', Buffer.from(key), Buffer.from(nonce))
  c.setAAD(Buffer.from(aad))
  const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final(), c.getAuthTag()])
  return { original_type: aad, algorithm: 'AEAD_AES_256_GCM', ciphertext: ct.toString('base64'), associated_data: aad, nonce }
}

function signed (body: string, opts: { timestamp?: number, nonce?: string, serial?: string, key?: string } = {}): Record<string, string> {
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000))
  const nonce = opts.nonce ?? randomBytes(16).toString('hex')
  const signature = createSign('RSA-SHA256').update(`${timestamp}\n${nonce}\n${body}\n`).sign(opts.key ?? wechatpay.privateKey, 'base64')
  return { 'wechatpay-timestamp': timestamp, 'wechatpay-nonce': nonce, 'wechatpay-signature': signature, 'wechatpay-serial': opts.serial ?? KEY_ID, 'wechatpay-signature-type': 'WECHATPAY2-SHA256-RSA2048' }
}

const transaction = { mchid: MCHID, appid: APPID, out_trade_no: 'ORDER20240101', transaction_id: '4200000000202401010000000001', trade_state: 'SUCCESS', amount: { total: 100, payer_total: 100, currency: 'CNY', payer_currency: 'CNY' }, payer: { openid: 'oUser' } }
const notificationBody = JSON.stringify({ id: 'EV-2018022511223320873', create_time: '2015-05-20T13:29:35+08:00', resource_type: 'encrypt-resource', event_type: 'TRANSACTION.SUCCESS', summary: '支付成功', resource: encrypt(JSON.stringify(transaction), 'transaction') })

t.test('the Authorization header verifies with node:crypto over METHOD\\nURL\\nTIMESTAMP\\nNONCE\\nBODY\\n', async (t) => {
  const body = '{"mchid":"1900000109"}'
  const header = buildAuthorization({ mchid: MCHID, serialNo: 'ABCDEF0123456789', privateKey: merchant.privateKey, method: 'POST', pathWithQuery: '/v3/pay/transactions/out-trade-no/X1/close', body })
  const m = /^WECHATPAY2-SHA256-RSA2048 mchid="(\d+)",nonce_str="([0-9A-F]{32})",signature="([^"]+)",timestamp="(\d+)",serial_no="([0-9A-F]+)"$/.exec(header)
  t.ok(m, header.slice(0, 80))
  const [, mchid, nonce, signature, timestamp, serial] = m as unknown as string[]
  t.equal(mchid, MCHID)
  t.equal(serial, 'ABCDEF0123456789')
  t.ok(Math.abs(Number(timestamp) - Date.now() / 1000) < 5)
  t.ok(createVerify('RSA-SHA256').update(`POST\n/v3/pay/transactions/out-trade-no/X1/close\n${timestamp}\n${nonce}\n${body}\n`).verify(merchant.publicKey, signature as string, 'base64'))
  const nonces = new Set(Array.from({ length: 50 }, () => /nonce_str="([^"]+)"/.exec(buildAuthorization({ mchid: MCHID, serialNo: 'S', privateKey: merchant.privateKey, method: 'GET', pathWithQuery: '/', body: '' }))?.[1]))
  t.equal(nonces.size, 50, 'a fresh nonce every time')
})

t.test('signMessage equals node:crypto\'s RSA-SHA256, and verifySignature accepts node:crypto\'s signatures only', async (t) => {
  const message = '1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n{"prepay_id":"wx201410272009395522657a690389285100"}\n'
  t.equal(signMessage(message, merchant.privateKey), createSign('RSA-SHA256').update(message).sign(merchant.privateKey, 'base64'))
  const sig = createSign('RSA-SHA256').update(message).sign(wechatpay.privateKey, 'base64')
  t.ok(verifySignature(message, sig, wechatpay.publicKey))
  t.notOk(verifySignature(message + ' ', sig, wechatpay.publicKey))
  t.notOk(verifySignature(message, sig, merchant.publicKey))
  t.notOk(verifySignature(message, 'WECHATPAY/SIGNTEST/abc', wechatpay.publicKey))
})

t.test('paySign verifies with node:crypto over appId\\ntimeStamp\\nnonceStr\\npackage\\n; jsapiPayParams is complete', async (t) => {
  const params = { appId: APPID, timeStamp: '1414561699', nonceStr: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS', package: 'prepay_id=wx201410272009395522657a690389285100' }
  const sig = paySign(params, merchant.privateKey)
  t.ok(createVerify('RSA-SHA256').update(`${params.appId}\n${params.timeStamp}\n${params.nonceStr}\n${params.package}\n`).verify(merchant.publicKey, sig, 'base64'))
  const p = client().jsapiPayParams('wx201410272009395522657a690389285100')
  t.equal(p.signType, 'RSA')
  t.equal(p.package, 'prepay_id=wx201410272009395522657a690389285100')
  t.match(p.timeStamp, /^\d{10}$/)
  t.ok(createVerify('RSA-SHA256').update(`${p.appId}\n${p.timeStamp}\n${p.nonceStr}\n${p.package}\n`).verify(merchant.publicKey, p.paySign, 'base64'))
})

t.test('decryptResource opens node:crypto\'s AES-256-GCM and refuses a changed byte or associated_data', async (t) => {
  const r = encrypt('{"a":1}', 'transaction')
  t.equal(decryptResource(r as never, API_V3_KEY), '{"a":1}')
  const bytes = Buffer.from(r.ciphertext!, 'base64')
  bytes[0] = bytes[0]! ^ 1
  t.throws(() => decryptResource({ ...r, ciphertext: bytes.toString('base64') } as never, API_V3_KEY))
  t.throws(() => decryptResource({ ...r, associated_data: 'refund' } as never, API_V3_KEY))
  t.throws(() => decryptResource(r as never, 'x'.repeat(32)))
})

t.test('a notification signed and encrypted with node:crypto verifies and decrypts', async (t) => {
  const n = client().verifyNotification(signed(notificationBody), Buffer.from(notificationBody))
  t.equal(n.event_type, 'TRANSACTION.SUCCESS')
  t.equal(n.id, 'EV-2018022511223320873')
  t.same(n.resource, transaction)
  const headers = new Headers(signed(notificationBody))
  t.equal(client().verifyNotification(headers, notificationBody).resource.out_trade_no, 'ORDER20240101', 'fetch Headers work too')
})

t.test('a notification tampered in one byte of the body, a header or the ciphertext is rejected', async (t) => {
  const c = client()
  const good = signed(notificationBody)
  const reject = (headers: Record<string, string>, body: string | Buffer, code: string, what: string): void => {
    try {
      c.verifyNotification(headers, body)
      t.fail(`${what} was accepted`)
    } catch (err) {
      t.equal((err as { code: string }).code, code, what)
    }
  }
  const body = Buffer.from(notificationBody)
  for (const i of [0, 10, body.length >> 1, body.length - 1]) {
    const copy = Buffer.from(body)
    copy[i] = copy[i]! ^ 1
    reject(good, copy, 'WECHATPAY_SIGNATURE_INVALID', `body byte ${i}`)
  }
  reject({ ...good, 'wechatpay-nonce': good['wechatpay-nonce']!.replace(/^./, (ch) => ch === 'a' ? 'b' : 'a') }, body, 'WECHATPAY_SIGNATURE_INVALID', 'nonce header')
  reject({ ...good, 'wechatpay-timestamp': String(Number(good['wechatpay-timestamp']) + 1) }, body, 'WECHATPAY_SIGNATURE_INVALID', 'timestamp header')
  const sig = Buffer.from(good['wechatpay-signature']!, 'base64')
  sig[5] = sig[5]! ^ 1
  reject({ ...good, 'wechatpay-signature': sig.toString('base64') }, body, 'WECHATPAY_SIGNATURE_INVALID', 'signature header')
  reject({ ...good, 'wechatpay-serial': 'PUB_KEY_ID_0199999999999999999999999999999' }, body, 'WECHATPAY_SIGNATURE_INVALID', 'unknown serial')
  const { 'wechatpay-signature': _omit, ...missing } = good
  reject(missing, body, 'WECHATPAY_SIGNATURE_INVALID', 'missing signature header')
  reject({ ...good, 'wechatpay-signature-type': 'WECHATPAY2-SM2-WITH-SM3' }, body, 'WECHATPAY_SIGNATURE_INVALID', 'another signature type')

  // Tampered ciphertext in a correctly signed body: only the AEAD tag can catch it.
  const parsed = JSON.parse(notificationBody)
  const ct = Buffer.from(parsed.resource.ciphertext, 'base64')
  ct[3] = ct[3]! ^ 1
  parsed.resource.ciphertext = ct.toString('base64')
  const tampered = JSON.stringify(parsed)
  reject(signed(tampered), tampered, 'WECHATPAY_NOTIFICATION_INVALID', 'ciphertext byte')
  const other = JSON.stringify({ ...JSON.parse(notificationBody), resource: encrypt(JSON.stringify({ ...transaction, mchid: '1999999999' }), 'transaction') })
  reject(signed(other), other, 'WECHATPAY_NOTIFICATION_INVALID', 'another merchant\'s notification')
})

t.test('an expired or future timestamp is rejected', async (t) => {
  const c = client()
  for (const offset of [-301, 301, -3600]) {
    const headers = signed(notificationBody, { timestamp: Math.floor(Date.now() / 1000) + offset })
    t.throws(() => c.verifyNotification(headers, notificationBody), { code: 'WECHATPAY_SIGNATURE_INVALID', details: { reason: 'timestamp_out_of_window' } }, `offset ${offset}s`)
  }
  t.doesNotThrow(() => c.verifyNotification(signed(notificationBody, { timestamp: Math.floor(Date.now() / 1000) - 240 }), notificationBody), 'four minutes late is fine')
})

t.test('a body with its JSON keys reordered fails verification: the signature covers bytes, not objects', async (t) => {
  const headers = signed(notificationBody)
  const parsed = JSON.parse(notificationBody) as Record<string, unknown>
  const reordered = JSON.stringify(Object.fromEntries(Object.entries(parsed).reverse()))
  t.not(reordered, notificationBody)
  t.same(JSON.parse(reordered), parsed, 'the same object')
  t.throws(() => client().verifyNotification(headers, reordered), { code: 'WECHATPAY_SIGNATURE_INVALID', details: { reason: 'bad_signature' } })
  const spaced = JSON.stringify(parsed, null, 1)
  t.throws(() => client().verifyNotification(headers, spaced), { code: 'WECHATPAY_SIGNATURE_INVALID' })
})

t.test('platform certificates and several public keys are accepted at once, each by its serial', async (t) => {
  const { cert, key } = await selfSignedCert()
  const x509 = new X509Certificate(cert)
  const next = rsaKeyPairSync()
  const NEXT_ID = 'PUB_KEY_ID_0198765432109876543210987654321'
  const c = client({ wechatpayPublicKeys: new Map([[KEY_ID, wechatpay.publicKey], [NEXT_ID, next.publicKey]]), platformCertificates: [cert] })
  t.equal(c.verifyNotification(signed(notificationBody), notificationBody).event_type, 'TRANSACTION.SUCCESS', 'the current public key')
  t.equal(c.verifyNotification(signed(notificationBody, { serial: NEXT_ID, key: next.privateKey }), notificationBody).event_type, 'TRANSACTION.SUCCESS', 'the next public key')
  t.equal(c.verifyNotification(signed(notificationBody, { serial: x509.serialNumber, key }), notificationBody).event_type, 'TRANSACTION.SUCCESS', 'the platform certificate, by its serial')
  t.equal(c.verifyNotification(signed(notificationBody, { serial: x509.serialNumber.toLowerCase(), key }), notificationBody).event_type, 'TRANSACTION.SUCCESS', 'serial case does not matter')
  t.throws(() => c.verifyNotification(signed(notificationBody, { serial: NEXT_ID, key: wechatpay.privateKey }), notificationBody), { code: 'WECHATPAY_SIGNATURE_INVALID' }, 'a key signing under another key\'s serial')
  t.throws(() => client({ wechatpayPublicKeys: {} }), /at least one/, 'no key at all is a configuration error')
})

t.test('decryptUserData opens WeChat\'s published sample and refuses another app\'s data', async (t) => {
  // The sample from WeChat's open-data decryption demo.
  const appId = 'wx4f4bc4dec97d474b'
  const sessionKey = 'tiihtNczf5v6AKRyjwEUhQ=='
  const iv = 'r7BXXKkLb8qrSNn05n0qiA=='
  const encryptedData = 'CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew=='
  const data = decryptUserData(encryptedData, iv, sessionKey, appId)
  t.equal(data.openId, 'oGZUI0egBJY1zhBYw2KhdUfwVJJE')
  t.equal(data.nickName, 'Band')
  t.same(data.watermark, { timestamp: 1477314187, appid: appId })
  t.throws(() => decryptUserData(encryptedData, iv, sessionKey, 'wx0000000000000000'), { code: 'USER_DATA_INVALID', statusCode: 400 })
  t.throws(() => decryptUserData(encryptedData, iv, 'AAAAAAAAAAAAAAAAAAAAAA==', appId), { code: 'USER_DATA_INVALID' })
  t.throws(() => decryptUserData('not base64!', iv, sessionKey, appId), { code: 'USER_DATA_INVALID' })
})

t.test('the login-state signature matches WeChat\'s documented example', async (t) => {
  t.equal(sessionSignature('o0q0otL8aEzpcZL/FT9WsQ==', '{"foo":"bar"}'), '654571f79995b2ce1e149e53c0a33dc39c0a74090db514261454e8dbe432aa0b')
})
