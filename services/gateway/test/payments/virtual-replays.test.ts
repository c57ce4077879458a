import t from 'tap'
import { randomUUID } from 'node:crypto'
import { connectOperator, readEvents } from '@wxmp/service/testing'
import { PushCodec } from '@wxmp/wechat'
import { call, eventually } from '../helpers/client.js'
import { payOnPhone, simView, virtualStack } from './virtual-stack.js'

t.test('a virtual order is paid and delivered once under 1,000 replayed deliver pushes', async (t) => {
  const s = await virtualStack(t)
  const { token, openid } = await s.signIn()
  const order = (await s.order(token, randomUUID())).json()
  t.equal((await payOnPhone(s, openid, order.virtualPayment)).http, 200)
  await eventually(async () => await s.status(token, order.id), (o) => o.status === 'PAID')
  const sim = simView(s)
  const delivery = await eventually(async () => sim.pusher.list().find((d) => d.event === 'xpay_goods_deliver_notify' && d.subject === order.outTradeNo), (d) => d?.state === 'delivered')

  // WeChat replays the push (its retries, or no answer seen): 1,000 times, 20 at once, each sealed afresh as WeChat
  // does (new timestamp, nonce and signatures over the same message), straight at the gateway's push route.
  const codec = new PushCodec({ token: s.push.token, encodingAesKey: s.push.encodingAesKey, appid: s.sim.keys.appid, mode: 'safe', format: 'json' })
  const answers: Array<{ status: number, body: string }> = []
  for (let batch = 0; batch < 50; batch++) {
    answers.push(...await Promise.all(Array.from({ length: 20 }, async () => {
      const sealed = codec.seal(delivery!.message)
      const res = await call(`${s.url}/v1/wechat/push?${new URLSearchParams(sealed.query).toString()}`, { method: 'POST', body: sealed.body, headers: { 'content-type': sealed.contentType } })
      return { status: res.status, body: res.body }
    })))
  }
  t.equal(answers.length, 1000)
  t.ok(answers.every((a) => a.status === 200 && JSON.parse(a.body).ErrCode === 0), 'every replay is answered ErrCode 0, so WeChat stops')
  // A retry WeChat numbers differently (another CreateTime) is a new push to auth, so a second event: payment still
  // delivers once.
  const renumbered = codec.seal({ ...delivery!.message, CreateTime: Number(delivery!.message.CreateTime) + 15 })
  const again = await call(`${s.url}/v1/wechat/push?${new URLSearchParams(renumbered.query).toString()}`, { method: 'POST', body: renumbered.body, headers: { 'content-type': renumbered.contentType } })
  t.equal(JSON.parse(again.body).ErrCode, 0)
  const prefixEarly = s.payment.config.NATS_SUBJECT_PREFIX
  const early = await connectOperator(t, prefixEarly)
  t.equal((await readEvents(early, prefixEarly, 'events.wechat.xpay_goods_deliver_notify', { atLeast: 2 })).length, 2, 'auth published the renumbered retry as a push of its own')
  await eventually(async () => (await s.payment.app.pg.query('SELECT count(*)::int AS n FROM xpay_events')).rows[0].n, (n) => n === 2)
  const transitions = await s.payment.app.pg.query("SELECT count(*)::int AS n FROM order_transitions WHERE order_id = $1 AND to_status = 'PAID'", [order.id])
  t.equal(transitions.rows[0].n, 1, 'one PENDING -> PAID')
  t.equal((await readEvents(early, prefixEarly, 'events.payment.succeeded', { waitMs: 500 })).length, 1, 'one payment.succeeded')
})
