import t from 'tap'
import { buildTestService } from '@wxmp/service/testing'
import app from '../src/app.js'
import { ConfigSchema } from '../src/config.js'
import { buildPayment } from './helpers/harness.js'

interface Readyz { status: string, details?: { tradeManaged?: { isTradeManaged: boolean | 'unknown', reason: string, msgJumpPath: { path: string, state: string } | null } } }

type Service = Awaited<ReturnType<typeof buildPayment>>['payment']['app']

const readyz = async (svc: Service): Promise<{ statusCode: number, body: Readyz }> => {
  const res = await svc.inject({ method: 'GET', url: '/readyz' })
  return { statusCode: res.statusCode, body: res.json() }
}
/** The value of payment_wechat_trade_managed on /metrics (whatever default labels the registry adds). */
const gauge = async (svc: Service): Promise<string | undefined> =>
  (await svc.inject({ method: 'GET', url: '/metrics' })).body.split('\n').find((l) => l.startsWith('payment_wechat_trade_managed'))?.split(' ').at(-1)

t.test('under shipping management: /readyz says so, the gauge is 1, and the configured jump path is set at WeChat', async (t) => {
  const h = await buildPayment(t, { env: { SHIPPING_MSG_JUMP_PATH: 'pages/order/detail' } })
  const svc = h.payment.app
  const ready = await h.until(async () => await readyz(svc), (r) => r.body.details?.tradeManaged?.msgJumpPath?.state === 'set')
  t.equal(ready.statusCode, 200)
  t.match(ready.body.details?.tradeManaged, { isTradeManaged: true, reason: /frozen until shipping is reported/, msgJumpPath: { path: 'pages/order/detail', state: 'set' } })
  t.equal((await h.sim_('/sim/shipping')).msgJumpPath, 'pages/order/detail', 'WeChat\'s shipping messages open that page')
  t.equal(await gauge(svc), '1')
})

t.test('outside shipping management the service is still ready: it is a detail, and no jump path is set', async (t) => {
  const h = await buildPayment(t, { sim: { SIM_TRADE_MANAGED: 'false' }, env: { SHIPPING_MSG_JUMP_PATH: 'pages/order/detail' } })
  const svc = h.payment.app
  const ready = await h.until(async () => await readyz(svc), (r) => r.body.details?.tradeManaged?.isTradeManaged === false)
  t.equal(ready.statusCode, 200, 'ready')
  t.match(ready.body.details?.tradeManaged, { isTradeManaged: false, reason: /is_trade_managed: false/, msgJumpPath: { state: 'not_managed' } })
  t.equal((await h.sim_('/sim/shipping')).msgJumpPath, null, 'nothing set at WeChat')
  t.equal(await gauge(svc), '0')
})

t.test('when is_trade_managed cannot be read the answer is unknown with the reason, and it is read again later', async (t) => {
  const h = await buildPayment(t)
  t.match(await h.sim_('/sim/faults', { endpoint: 'is_trade_managed', errcode: 48001, errmsg: 'api unauthorized' }), { http: 200 })
  // A second instance on the same database boots while WeChat refuses the call.
  const second = await buildTestService(t, { name: 'payment', schema: ConfigSchema, app, prefix: h.prefix, env: { ...h.env, TRADE_MANAGED_CHECK_SECONDS: '1' } })
  const svc = second.app
  const unknown = await h.until(async () => await readyz(svc), (r) => r.body.details?.tradeManaged?.reason !== 'not checked yet')
  t.equal(unknown.statusCode, 200, 'still ready: orders are taken and shipping is reported anyway')
  t.match(unknown.body.details?.tradeManaged, { isTradeManaged: 'unknown', reason: /could not be read.*48001/, msgJumpPath: null })
  t.equal(await gauge(svc), '-1')

  t.match(await h.sim_('/sim/faults', undefined, 'DELETE'), { http: 204 })
  const known = await h.until(async () => await readyz(svc), (r) => r.body.details?.tradeManaged?.isTradeManaged === true)
  t.match(known.body.details?.tradeManaged, { isTradeManaged: true })
  t.equal(await gauge(svc), '1')
})
