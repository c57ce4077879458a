import t from 'tap'
import { randomUUID } from 'node:crypto'
import { connectOperator, readEvents } from '@wxmp/service/testing'
import { eventually } from '../helpers/client.js'
import { payOnPhone, simView, virtualStack } from './virtual-stack.js'

t.test('a virtual order is paid and delivered once under 1,000 replayed deliver pushes', async (t) => {
  const s = await virtualStack(t)
  const { token, openid } = await s.signIn()
  const order = (await s.order(token, randomUUID())).json()
  t.equal((await payOnPhone(s, openid, order.virtualPayment)).http, 200)
  await eventually(async () => await s.status(token, order.id), (o) => o.status === 'PAID')
  const sim = simView(s)
  const delivery = await eventually(async () => sim.pusher.list().find((d) => d.event === 'xpay_goods_deliver_notify' && d.subject === order.outTradeNo), (d) => d?.state === 'delivered')

  // WeChat replays the push (no answer seen, or its retries): 1,000 times, 25 at once.
  for (let i = 0; i < 40; i++) {
    await Promise.all(Array.from({ length: 25 }, async () => await s.phone('/sim/pushes/redeliver', { id: delivery!.id })))
  }
  await eventually(async () => delivery!, (d) => d.attempts.length === 1001 && d.state === 'delivered', { timeoutMs: 90_000 })
  // On a busy machine a replay may time out or be shed (5xx, 429, no answer in 5 s): WeChat sends those again. None
  // may be refused: a 4xx or a non-zero ErrCode would tell WeChat the delivery failed.
  const refused = delivery!.attempts.filter((a) => a.status !== undefined && a.status < 500 && a.status !== 429 && !(a.status === 200 && JSON.parse(a.answer ?? '{}').ErrCode === 0))
  t.same(refused, [], 'every replay answered ErrCode 0, or failed in a way WeChat retries')
  const transitions = await s.payment.app.pg.query("SELECT count(*)::int AS n FROM order_transitions WHERE order_id = $1 AND to_status = 'PAID'", [order.id])
  t.equal(transitions.rows[0].n, 1, 'one PENDING -> PAID')
  const prefix = s.payment.config.NATS_SUBJECT_PREFIX
  const operator = await connectOperator(t, prefix)
  t.equal((await readEvents(operator, prefix, 'events.payment.succeeded', { waitMs: 500 })).length, 1, 'one payment.succeeded')
})
