import t from 'tap'
import pg from 'pg'
import { ADMIN_DATABASE_URL } from '@wxmp/testing'
import { publicError } from '../src/index.js'

// Regression (found by the chaos suite's bad-input corpus): a NUL character in a string field (a nickname, a
// username) reached Postgres, which refuses it, and the client got 500 INTERNAL instead of a 400.
t.test('text Postgres cannot store is the client\'s error: 400 VALIDATION_FAILED, not 500', async (t) => {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL })
  await client.connect()
  t.teardown(async () => { await client.end() })
  for (const [what, sql, value] of [
    ['NUL in text', 'SELECT $1::text', 'abc\u0000def'],
    ['\\u0000 in jsonb', 'SELECT $1::jsonb', '{"nickname":"a\\u0000b"}']
  ] as const) {
    const err = await client.query(sql, [value]).then(() => undefined, (e: unknown) => e)
    t.ok(err instanceof Error, `${what}: Postgres refuses it`)
    const pub = publicError(err)
    t.equal(pub.statusCode, 400, what)
    t.equal(pub.body.code, 'VALIDATION_FAILED', what)
  }
  const other = await client.query('SELECT 1/0').then(() => undefined, (e: unknown) => e)
  t.equal(publicError(other).statusCode, 500, 'other database errors stay internal')
})
