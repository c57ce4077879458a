import type { Pool, PoolClient } from 'pg'

export type Db = Pool | PoolClient

/** Runs `fn` in one transaction on one pooled connection: everything it writes commits together or not at all. */
export { withTransaction as inTransaction } from '@wxmp/core'
