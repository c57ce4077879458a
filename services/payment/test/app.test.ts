import t from 'tap'
import { readdirSync } from 'node:fs'
import { ConfigError, loadConfig } from '@wxmp/core'
import { buildTestService } from '@wxmp/service/testing'
import app from '../src/app.js'
import { ConfigSchema } from '../src/config.js'
import { buildPayment } from './helpers/harness.js'

t.test('boots on its own database, migrated, and answers payment.ping over NATS', async (t) => {
  const { payment } = await buildPayment(t)
  const svc = payment.app
  const ready = await svc.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 200, ready.body)
  const { rows } = await svc.pg.query('SELECT name FROM pgmigrations ORDER BY id')
  // The shared outbox's migration, then every file of src/db/migrations in name order.
  const own = readdirSync(new URL('../src/db/migrations', import.meta.url)).filter((f) => f.endsWith('.sql')).map((f) => f.slice(0, -4))
  t.same(rows.map((r) => r.name), ['1764200000001_outbox', ...own].sort())
  t.ok(own.includes('1764200000002_orders') && own.includes('1764900000000_b-refund-requests'))
  const reply = await payment.callers.request<{ name: string, version: string }>('payment.ping', {}, undefined)
  t.equal(reply.data.name, 'payment')
  t.match(reply.data.version, /^\d+\.\d+\.\d+$/)
})

t.test('a missing or unreadable WeChat Pay setting stops the boot with the variable\'s name', async (t) => {
  const h = await buildPayment(t)
  const missing = { ...h.env }
  delete (missing as Record<string, string>).WECHATPAY_NOTIFY_URL
  const variables = (env: Record<string, string>): string[] => {
    try { loadConfig(ConfigSchema, env) } catch (err) { return err instanceof ConfigError ? err.variables : [] }
    return []
  }
  t.same(variables(missing), ['WECHATPAY_NOTIFY_URL'])
  t.same(variables({ ...h.env, IDEMPOTENCY_KEY_TTL_HOURS: '1' }), ['IDEMPOTENCY_KEY_TTL_HOURS'], 'keys are kept at least a day')
  t.same(variables({ ...h.env, WECHAT_APPID: 'not-an-appid' }), ['WECHAT_APPID'])
  await t.rejects(buildTestService(t, { name: 'payment', schema: ConfigSchema, app, env: { ...h.env, DATABASE_URL: undefined as never, WECHATPAY_MERCHANT_PRIVATE_KEY_FILE: '/nonexistent/key.pem' } }),
    { name: 'ConfigError', message: /WECHATPAY_MERCHANT_PRIVATE_KEY_FILE/ })
})
