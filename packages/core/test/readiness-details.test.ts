import t from 'tap'
import Fastify from 'fastify'
import { health } from '../src/health.js'

t.test('details are shown beside the checks, read at each request, and never decide readiness', async (t) => {
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(health)
  let up = true
  let managed: boolean | 'unknown' = 'unknown'
  app.readiness.add('db', () => up)
  app.readiness.detail('tradeManaged', () => ({ isTradeManaged: managed }))
  await app.ready()

  let res = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok', checks: { db: 'ok' }, details: { tradeManaged: { isTradeManaged: 'unknown' } } })
  managed = false
  res = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(res.statusCode, 200, 'a detail saying false is not a failed check')
  t.same(res.json().details, { tradeManaged: { isTradeManaged: false } })
  up = false
  res = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(res.statusCode, 503)
  t.same(res.json(), { status: 'unavailable', down: ['db'], checks: { db: 'down' }, details: { tradeManaged: { isTradeManaged: false } } })
})

t.test('without details the answer is unchanged', async (t) => {
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(health)
  app.readiness.add('db', () => true)
  await app.ready()
  t.same((await app.inject({ method: 'GET', url: '/readyz' })).json(), { status: 'ok', checks: { db: 'ok' } })
})
