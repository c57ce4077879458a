import t from 'tap'
import { buildTestService } from '@wxmp/service/testing'
import app from '../src/app.js'
import { ConfigSchema } from '../src/config.js'

t.test('boots on its own database, migrated, and answers payment.ping over NATS', async (t) => {
  const { app: svc } = await buildTestService(t, { name: 'payment', schema: ConfigSchema, app })
  const ready = await svc.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 200, ready.body)
  const { rows } = await svc.pg.query("SELECT to_regclass('public.products') AS t")
  t.equal(rows[0].t, 'products', 'migration applied')
  const reply = await svc.natsClient.request<{ name: string, version: string }>('payment.ping', {}, undefined)
  t.equal(reply.data.name, 'payment')
  t.match(reply.data.version, /^\d+\.\d+\.\d+$/)
})
