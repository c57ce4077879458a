import type { Pool, PoolClient } from 'pg'

export type Db = Pool | PoolClient

/** Runs `fn` in one transaction on one pooled connection: everything it writes commits together or not at all. */
export async function inTransaction<T> (pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
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
