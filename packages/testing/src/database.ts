import pg from 'pg'
import { uniqueTag } from './ids.js'
import { tcpProxy, type TcpProxy } from './tcp-proxy.js'
import type { Teardown } from './teardown.js'

/** The shared local Postgres, overridable for CI machines that run it elsewhere. */
export const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** Creates an empty database for one test and drops it when the test ends; returns its URL. */
export async function testDatabase (t: Teardown, label = 'db'): Promise<string> {
  const name = `wxmp_t_${label}_${uniqueTag()}`
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE "${name}"`)
  } finally {
    await admin.end()
  }
  t.teardown(async () => {
    const c = new pg.Client({ connectionString: ADMIN_DATABASE_URL })
    await c.connect()
    try {
      // A pool's end() resolves before its clients' sockets have closed, and such a client still reports errors to
      // its pool: a forced drop that cuts it then raises an 'error' the test's pool may not listen for. Closing
      // connections get a moment to go; whatever a test left open is cut by the drop, as before.
      for (let i = 0; i < 20; i++) {
        const { rows } = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name])
        if ((rows[0]?.n ?? 0) === 0) break
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
    } finally {
      await c.end()
    }
  })
  const url = new URL(ADMIN_DATABASE_URL)
  url.pathname = `/${name}`
  return url.toString()
}

/** A test database reached through a cuttable TCP proxy: `proxy.cut()` is Postgres going away, `restore()` its return. */
export async function proxiedTestDatabase (t: Teardown, label = 'db'): Promise<{ url: string, proxy: TcpProxy }> {
  const url = new URL(await testDatabase(t, label))
  const proxy = await tcpProxy(t, Number(url.port === '' ? 5432 : url.port), url.hostname)
  url.port = String(proxy.port)
  return { url: url.toString(), proxy }
}
