import t from 'tap'
import { randomUUID } from 'node:crypto'
import { natsPrefix } from '@wxmp/testing'
import { eventually } from './helpers/client.js'
import { buildGateway } from './helpers/stack.js'
import { buildPayStack } from './payments/pay-stack.js'

/** The value of one series in Prometheus text, or 0 when absent. */
function value (text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return total
}

t.test('business counters move with the traffic that should move them', async (t) => {
  const s = await buildPayStack(t)
  const scrape = async (): Promise<string> => (await s.auth.app.inject({ method: 'GET', url: '/metrics' })).body
  const before = await scrape()

  const token = await s.login()
  const order = (await s.api(token, 'POST', '/v1/payments/orders', { productId: 'latte', quantity: 1 }, { 'idempotency-key': randomUUID() })).json()
  await s.phone('/sim/pay', { outTradeNo: order.outTradeNo, result: 'SUCCESS' })
  await eventually(async () => (await s.api(token, 'GET', `/v1/payments/orders/${order.id}`)).json(), (o) => o.status === 'PAID')
  const wrong = await s.api('', 'POST', '/v1/auth/password/login', { username: 'nobody', password: 'wrong password' })
  t.equal(wrong.status, 401)

  const moved = (text: string, name: string, labels: Record<string, string> = {}): number => value(text, name, labels) - value(before, name, labels)
  // payment counts a notification after its transaction commits, so the order can read PAID first
  const after = await eventually(scrape, (text) => moved(text, 'payment_notifications_total') >= 1 && moved(text, 'payment_order_transitions_total', { to: 'PAID' }) >= 1)
  const delta = (name: string, labels: Record<string, string> = {}): number => moved(after, name, labels)
  t.equal(delta('auth_logins_total', { method: 'wechat', result: 'ok' }), 1, 'one WeChat login counted as ok')
  t.equal(delta('auth_logins_total', { method: 'password', result: 'AUTH_INVALID_CREDENTIALS' }), 1, 'a failed password login counted by its code')
  t.equal(delta('users_created_total', { kind: 'wechat' }), 1, 'one user created')
  t.ok(delta('payment_orders_created_total') >= 1, 'the order counted')
  t.equal(delta('payment_order_transitions_total', { to: 'PAID' }), 1, 'one PENDING -> PAID transition')
  t.ok(delta('payment_notifications_total') >= 1, 'the notification counted by outcome')
  t.ok(delta('nats_requests_handled_total', { subject: 'auth.wechatLogin', status: '200' }) >= 1)
  t.ok(value(after, 'pg_pool_connections', { state: 'total' }) >= 1, 'pool gauges present')
})

t.test('rate-limit refusals are counted by limit class', async (t) => {
  const gw = await buildGateway(t, natsPrefix(), { RATE_LIMIT_LOGIN_MAX: '1' })
  const scrape = async (): Promise<string> => (await import('@wxmp/core')).metricsRegistry.metrics()
  const before = value(await scrape(), 'gateway_rate_limit_hits_total', { limit: 'login' })
  const url = await gw.listen()
  const { call } = await import('./helpers/client.js')
  const first = await call(`${url}/v1/auth/wechat/login`, { method: 'POST', body: JSON.stringify({ code: 'abcdefgh12' }) })
  const second = await call(`${url}/v1/auth/wechat/login`, { method: 'POST', body: JSON.stringify({ code: 'abcdefgh12' }) })
  t.not(first.status, 429)
  t.equal(second.status, 429)
  t.equal(value(await scrape(), 'gateway_rate_limit_hits_total', { limit: 'login' }) - before, 1)
})
