import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { Contracts, WECHAT_PUSH_METHOD_HEADER, WECHAT_PUSH_QUERY_HEADER, wechatPushSubject } from '@wxmp/contracts'
import { isAppError } from '@wxmp/core'
import { buildTestService, connectOperator, readEvents } from '@wxmp/service/testing'
import { eventually } from '@wxmp/testing'
import { PushCodec, pushSignature, type PushFormat, type PushMode, type SealedPush } from '@wxmp/wechat'
import app from '../src/app.js'
import { ConfigSchema } from '../src/config.js'
import { authTestEnv } from './helpers/env.js'

const SETTLEMENT = 'trade_manage_order_settlement'

async function build (t: Test, opts: { mode?: PushMode, format?: PushFormat } = {}) {
  const env = authTestEnv()
  const token = randomBytes(12).toString('hex')
  const encodingAesKey = randomBytes(32).toString('base64').slice(0, 43)
  const mode = opts.mode ?? 'safe'
  const format = opts.format ?? 'json'
  const auth = await buildTestService(t, {
    name: 'auth',
    schema: ConfigSchema,
    app,
    env: { ...env, WECHAT_PUSH_TOKEN: token, WECHAT_PUSH_ENCODING_AES_KEY: encodingAesKey, WECHAT_PUSH_MODE: mode, WECHAT_PUSH_FORMAT: format }
  })
  // WeChat's side of the push: the same Token and key, sealing as the platform does.
  const wechat = new PushCodec({ token, appid: env.WECHAT_APPID as string, encodingAesKey, mode, format })
  const prefix = auth.config.NATS_SUBJECT_PREFIX
  /** Sends a push as the gateway forwards it (and as the gateway: only it may call auth.wechatPush): raw body, query string and method in headers. */
  const deliver = async (push: { query: Record<string, string>, body: string }, method = 'POST') =>
    await (await auth.callers.as('gateway')).request(Contracts.auth.wechatPush, Buffer.from(push.body, 'utf8'), undefined, {
      headers: { [WECHAT_PUSH_QUERY_HEADER]: new URLSearchParams(push.query).toString(), [WECHAT_PUSH_METHOD_HEADER]: method }
    })
  const refused = async (push: { query: Record<string, string>, body: string }): Promise<{ status: number, code: string }> => {
    try {
      await deliver(push)
    } catch (err) {
      if (isAppError(err)) return { status: err.statusCode, code: err.code }
      throw err
    }
    return { status: 200, code: 'accepted' }
  }
  const outboxPending = async (): Promise<number> => Number((await auth.app.pg.pool.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL')).rows[0]?.n)
  const outboxTotal = async (): Promise<number> => Number((await auth.app.pg.pool.query<{ n: string }>('SELECT count(*) AS n FROM outbox')).rows[0]?.n)
  // auth may publish events but not read the stream back; the test server's operator inspects it.
  const streamNc = await connectOperator(t, prefix)
  return { auth, wechat, token, encodingAesKey, prefix, deliver, refused, outboxPending, outboxTotal, appid: env.WECHAT_APPID as string, streamNc }
}

function settlement (appid: string, transactionId: string): Record<string, unknown> {
  return {
    ToUserName: 'gh_' + appid.slice(2, 14),
    FromUserName: 'o' + transactionId.slice(-12),
    CreateTime: 1_700_000_000,
    MsgType: 'event',
    Event: SETTLEMENT,
    transaction_id: transactionId,
    merchant_id: '1900000001',
    merchant_trade_no: 'WX' + transactionId.slice(-10),
    pay_time: 1_699_990_000,
    settlement_time: 1_700_000_000,
    confirm_receive_method: 1
  }
}

t.test('the URL check answers echostr when the signature holds, and is refused otherwise', async (t) => {
  const { wechat, deliver, refused } = await build(t)
  const sealed = wechat.seal({})
  const query = { signature: sealed.query.signature as string, timestamp: sealed.query.timestamp as string, nonce: sealed.query.nonce as string, echostr: 'echo-4242' }
  const { data } = await deliver({ query, body: '' }, 'GET')
  t.equal(data.body, 'echo-4242')
  t.same(await refused({ query: { ...query, signature: '0'.repeat(40) }, body: '' }), { status: 401, code: 'WECHAT_PUSH_SIGNATURE_INVALID' })
})

t.test('a push replayed 1,000 times is published once as events.wechat.<event>, and every replay is answered success', async (t) => {
  const { wechat, deliver, prefix, streamNc, outboxPending, outboxTotal, appid } = await build(t)
  const message = settlement(appid, '4200001234202611300000000001')
  const sealed = wechat.seal(message)
  const answers: string[] = []
  const duplicates: boolean[] = []
  for (let batch = 0; batch < 50; batch++) {
    const replies = await Promise.all(Array.from({ length: 20 }, async () => await deliver(sealed)))
    for (const r of replies) { answers.push(r.data.body); duplicates.push(r.data.duplicate) }
  }
  t.equal(answers.length, 1000)
  t.ok(answers.every((a) => a === 'success'), 'WeChat gets success every time, so it stops retrying')
  t.equal(duplicates.filter((d) => !d).length, 1, 'one delivery is new, 999 are recognised')
  // WeChat's retry seals the same message afresh (new timestamp, nonce, signature): still the same push.
  t.equal((await deliver(wechat.seal(message))).data.duplicate, true)

  t.equal(await outboxTotal(), 1, 'one event was written')
  t.equal(await eventually(outboxPending, (n) => n === 0), 0, 'and relayed')
  const events = await readEvents(streamNc, prefix, wechatPushSubject(SETTLEMENT))
  t.equal(events.length, 1, 'exactly one event on the stream')
  t.match(events[0], { event: SETTLEMENT, msgType: 'event', message: { transaction_id: '4200001234202611300000000001', merchant_trade_no: message.merchant_trade_no } })

  const other = settlement(appid, '4200001234202611300000000002')
  t.equal((await deliver(wechat.seal(other))).data.duplicate, false, 'another push is new')
  const both = await readEvents(streamNc, prefix, wechatPushSubject(SETTLEMENT), { atLeast: 2 })
  t.equal(both.length, 2)
})

t.test('bad signatures and bad ciphertexts are refused with 4xx and publish nothing', async (t) => {
  const { wechat, token, encodingAesKey, refused, deliver, prefix, streamNc, outboxPending, outboxTotal, appid } = await build(t)
  const good = wechat.seal(settlement(appid, '4200001234202611300000000010'))
  const tamper = (p: SealedPush, query: Record<string, string>, body = p.body) => ({ query: { ...p.query, ...query }, body })

  t.same(await refused(tamper(good, { signature: 'f'.repeat(40) })), { status: 401, code: 'WECHAT_PUSH_SIGNATURE_INVALID' }, 'wrong signature')
  t.same(await refused(tamper(good, { msg_signature: 'f'.repeat(40) })), { status: 401, code: 'WECHAT_PUSH_SIGNATURE_INVALID' }, 'wrong msg_signature')
  t.same(await refused({ query: {}, body: good.body }), { status: 401, code: 'WECHAT_PUSH_SIGNATURE_INVALID' }, 'no signature at all')
  const stale = wechat.seal(settlement(appid, '4200001234202611300000000011'), { timestamp: String(Math.floor(Date.now() / 1000) - 3600) })
  t.same(await refused(stale), { status: 401, code: 'WECHAT_PUSH_SIGNATURE_INVALID' }, 'an hour-old push (replayed capture)')

  // A ciphertext that is signed correctly but does not decrypt under our key, or is for another app.
  const stranger = new PushCodec({ token: 'x'.repeat(8), appid, encodingAesKey: randomBytes(32).toString('base64').slice(0, 43), mode: 'safe', format: 'json' })
  const foreign = JSON.parse(stranger.seal(settlement(appid, '4200001234202611300000000012')).body) as { Encrypt: string }
  const resigned = resign(token, foreign.Encrypt)
  t.same(await refused(resigned), { status: 400, code: 'WECHAT_PUSH_INVALID' }, 'ciphertext under another key')
  t.same(await refused(resign(token, Buffer.from('not a ciphertext at all').toString('base64'))), { status: 400, code: 'WECHAT_PUSH_INVALID' }, 'garbage ciphertext')
  const otherApp = new PushCodec({ token: 'x'.repeat(8), appid: 'wx' + randomBytes(8).toString('hex'), encodingAesKey, mode: 'safe', format: 'json' })
  const misdirected = JSON.parse(otherApp.seal(settlement(appid, '4200001234202611300000000013')).body) as { Encrypt: string }
  t.same(await refused(resign(token, misdirected.Encrypt)), { status: 400, code: 'WECHAT_PUSH_INVALID' }, 'a message for another app')
  t.same(await refused(tamper(good, {}, 'not json')), { status: 400, code: 'WECHAT_PUSH_INVALID' }, 'a body that does not parse')

  t.equal(await outboxTotal(), 0, 'nothing was written for any refused push')
  // The good push, after all the bad ones: once its event is on the stream, any earlier one would be too.
  t.equal((await deliver(good)).data.duplicate, false)
  t.equal(await eventually(outboxPending, (n) => n === 0), 0)
  const events = await readEvents(streamNc, prefix, wechatPushSubject(SETTLEMENT))
  t.equal(events.length, 1, 'only the verified push was published')
  t.match(events[0], { message: { transaction_id: '4200001234202611300000000010' } })
})

t.test('XML in plain mode: a push is opened, deduplicated by MsgId, and published under its event', async (t) => {
  const { wechat, deliver, prefix, streamNc, appid } = await build(t, { mode: 'plain', format: 'xml' })
  const text = { ToUserName: 'gh_' + appid.slice(2, 14), FromUserName: 'oUser1', CreateTime: 1_700_000_000, MsgType: 'text', Content: 'hello', MsgId: '23456789012345678' }
  t.equal((await deliver(wechat.seal(text))).data.duplicate, false)
  t.equal((await deliver(wechat.seal({ ...text, CreateTime: 1_700_000_001 }))).data.duplicate, true, 'the same MsgId is the same message')
  const events = await readEvents(streamNc, prefix, wechatPushSubject('text'))
  t.equal(events.length, 1)
  t.match(events[0], { event: 'text', dedupeKey: 'msg:23456789012345678', message: { Content: 'hello', MsgId: '23456789012345678' } })
})

/** A safe-mode push carrying `encrypt`, with both signatures correct for our Token: only the ciphertext is wrong. */
function resign (token: string, encrypt: string): { query: Record<string, string>, body: string } {
  const timestamp = String(Math.floor(Date.now() / 1000))
  const nonce = String(Date.now() % 1_000_000_007)
  return {
    query: { signature: pushSignature(token, timestamp, nonce), timestamp, nonce, encrypt_type: 'aes', msg_signature: pushSignature(token, timestamp, nonce, encrypt) },
    body: JSON.stringify({ ToUserName: 'gh_x', Encrypt: encrypt })
  }
}
