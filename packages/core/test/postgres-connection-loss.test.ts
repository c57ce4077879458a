import t from 'tap'
import { proxiedTestDatabase, type Teardown } from '@wxmp/testing'
import { createFastify, foundation, postgres } from '../src/index.js'

/** An app with a pool of two on a fresh database behind a cuttable proxy. */
async function appBehindProxy (t: Teardown, label: string) {
  const { url, proxy } = await proxiedTestDatabase(t, label)
  const app = createFastify({ service: 'test', level: 'silent' })
  await app.register(foundation)
  await app.register(postgres, { connectionString: url, max: 2 })
  t.teardown(async () => { await app.close() })
  return { app, proxy }
}

// Regression (found by the chaos suite's Postgres restart): a connection checked out of the pool for a transaction
// emitted 'error' when the server went away, nothing listened, and the uncaught error shut the whole service down
// (both payment replicas at once). Now the query fails, the request answers an error, and the process stays up.
t.test('losing Postgres in the middle of a transaction fails that query and keeps the process alive', async (t) => {
  const { app, proxy } = await appBehindProxy(t, 'connloss')
  await app.ready()

  const client = await app.pg.pool.connect()
  await client.query('BEGIN')
  const ended = new Promise((resolve) => client.once('end', resolve))
  await proxy.cut()
  await ended
  const err = await client.query('SELECT 1').then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof Error, 'the query on the lost connection fails')
  client.release(err as Error)
  // An unheard 'error' event would have thrown as an uncaught exception by now, failing this test.
  await new Promise((resolve) => setTimeout(resolve, 100))

  await proxy.restore()
  const { rows } = await app.pg.pool.query<{ ok: number }>('SELECT 1 AS ok')
  t.same(rows, [{ ok: 1 }], 'the pool serves again on a fresh connection')
})

t.test('a request that meets Postgres down answers 503 DEPENDENCY_UNAVAILABLE with Retry-After, not a 500', async (t) => {
  const { app, proxy } = await appBehindProxy(t, 'outage')
  app.get('/count', async () => (await app.pg.pool.query('SELECT 1 AS n')).rows[0])
  await app.ready()
  t.equal((await app.inject({ method: 'GET', url: '/count' })).statusCode, 200)
  await proxy.cut()
  const res = await app.inject({ method: 'GET', url: '/count' })
  t.equal(res.statusCode, 503)
  t.equal(res.json().error.code, 'DEPENDENCY_UNAVAILABLE')
  t.equal(res.headers['retry-after'], '1')
  await proxy.restore()
  t.equal((await app.inject({ method: 'GET', url: '/count' })).statusCode, 200, 'and 200 again once it is back')
})
