import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import fastifyPostgres from '@fastify/postgres'
import pg, { type Pool, type PoolClient } from 'pg'
import { runner } from 'node-pg-migrate'
import { observedGauge } from './metrics.js'

export interface PostgresOptions {
  /** Connection string of this service's own database. */
  connectionString: string
  /** Pool size per process; one pool serves every request. */
  max: number
  /** Create the database when missing (development). */
  create?: boolean
  /**
   * Folder of SQL migrations to apply at boot, or several whose files run as one sequence ordered by their
   * timestamps (a service's own plus shared ones); omitted means no migrations run here.
   */
  migrationsDir?: string | string[]
}

function quoteIdent (name: string): string {
  return '"' + name.replace(/"/g, '""') + '"'
}

/** A folder path as a literal glob pattern. */
function globEscape (path: string): string {
  return path.replace(/[*?[\]{}()!@+\\]/g, '\\$&')
}

/** Runs fn in one transaction on a pooled client: committed when it returns, rolled back when it throws. */
export async function withTransaction<T> (pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  let broken: Error | undefined
  try {
    await client.query('BEGIN')
    const result = await fn(client)
    await client.query('COMMIT')
    return result
  } catch (err) {
    await client.query('ROLLBACK').catch((e: Error) => { broken = e })
    throw err
  } finally {
    // A connection that could not even roll back is not handed to the next request.
    client.release(broken)
  }
}

/** Creates the database named in `connectionString` if it does not exist yet, tolerating a concurrent creator. */
export async function ensureDatabase (connectionString: string): Promise<void> {
  const url = new URL(connectionString)
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''))
  url.pathname = '/postgres'
  const client = new pg.Client({ connectionString: url.toString() })
  await client.connect()
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
    if (rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE ${quoteIdent(name)}`)
      } catch (err) {
        // 42P04 duplicate_database, 23505 when two creators race on the catalogue.
        const code = (err as { code?: string }).code
        if (code !== '42P04' && code !== '23505') throw err
      }
    }
  } finally {
    await client.end()
  }
}

/** Applies pending migrations under an advisory lock, so replicas booting together run them once. */
export async function migrate (connectionString: string, dir: string | string[], log: (msg: string) => void = () => {}): Promise<string[]> {
  const dirs = typeof dir === 'string' ? undefined : dir
  const applied = await runner({
    databaseUrl: connectionString,
    // Several folders are read through globs, which node-pg-migrate sorts by file name across all of them.
    ...(dirs === undefined ? { dir } : { dir: dirs.map((d) => `${globEscape(d)}/*`), useGlob: true }),
    direction: 'up',
    migrationsTable: 'pgmigrations',
    singleTransaction: true,
    checkOrder: true,
    verbose: false,
    log
  })
  return applied.map((m) => m.name)
}

/** One pg pool per process (@fastify/postgres), migrated at boot, reported by /readyz as `postgres`. */
export const postgres = fp(async function postgres (app: FastifyInstance, opts: PostgresOptions) {
  if (opts.create === true) await ensureDatabase(opts.connectionString)
  if (opts.migrationsDir !== undefined) {
    const applied = await migrate(opts.connectionString, opts.migrationsDir, (msg) => app.log.debug(msg))
    if (applied.length > 0) app.log.info({ migrations: applied }, 'migrations applied')
  }
  await app.register(fastifyPostgres, {
    connectionString: opts.connectionString,
    max: opts.max,
    connectionTimeoutMillis: 3000,
    idleTimeoutMillis: 30000
  })
  // An idle client losing its server emits 'error' on the pool; unhandled, that would kill the process.
  app.pg.pool.on('error', (err) => app.log.warn({ err: { message: err.message } }, 'postgres connection lost'))
  // A client checked out of the pool (mid-transaction) emits 'error' on itself when its server goes away, and the
  // pool listens only to idle ones: unheard, that error killed the process. The query in progress fails on its own,
  // and the pool drops the broken client when it is released.
  app.pg.pool.on('connect', (client) => {
    client.on('error', (err) => app.log.warn({ err: { message: err.message } }, 'postgres connection lost while in use'))
  })
  const pool = app.pg.pool
  observedGauge('pg_pool_connections', 'Postgres pool connections by state (waiting = callers queued for one)', ['state'], (g) => {
    g.set({ state: 'total' }, pool.totalCount)
    g.set({ state: 'idle' }, pool.idleCount)
    g.set({ state: 'in_use' }, pool.totalCount - pool.idleCount)
    g.set({ state: 'waiting' }, pool.waitingCount)
  })
  app.readiness?.add('postgres', async () => {
    await app.pg.pool.query('SELECT 1')
    return true
  })
}, { name: 'wxmp-postgres', fastify: '5.x', dependencies: ['wxmp-health'] })
