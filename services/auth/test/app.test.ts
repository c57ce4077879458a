import t from 'tap'
import { buildTestService } from '@wxmp/service/testing'
import app from '../src/app.js'
import { ConfigSchema } from '../src/config.js'

t.test('boots on its own database, migrated, and answers auth.ping over NATS', async (t) => {
  const { app: svc } = await buildTestService(t, { name: 'auth', schema: ConfigSchema, app })
  const ready = await svc.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 200, ready.body)
  const { rows } = await svc.pg.query("SELECT to_regclass('public.sessions') AS t")
  t.equal(rows[0].t, 'sessions', 'migration applied')
  const reply = await svc.natsClient.request<{ name: string, version: string }>('auth.ping', {}, undefined)
  t.equal(reply.data.name, 'auth')
  t.match(reply.data.version, /^\d+\.\d+\.\d+$/)
})
