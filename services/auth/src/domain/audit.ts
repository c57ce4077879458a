import type { Pool, PoolClient } from 'pg'
import { Events, type AuthAuditAction, type AuthAuditEvent } from '@wxmp/contracts'
import type { TraceContext } from '@wxmp/core'
import { enqueueEvent } from '@wxmp/service'

export type AuditFields = Omit<AuthAuditEvent, 'id' | 'action' | 'at'>

/**
 * The audit stream: one `events.auth.<action>` per audited action, through auth's outbox, so an action and its event
 * commit together (pass the action's transaction client) and a crash between them loses neither.
 */
export class Audit {
  constructor (private readonly pool: Pool) {}

  async record (action: AuthAuditAction, fields: AuditFields, opts: { client?: PoolClient, trace?: TraceContext } = {}): Promise<void> {
    const payload: Omit<AuthAuditEvent, 'id'> = { action, at: new Date().toISOString(), ...dropUndefined(fields) }
    await enqueueEvent(opts.client ?? this.pool, Events.authAudit(action), payload, opts.trace === undefined ? {} : { trace: opts.trace })
  }
}

function dropUndefined<T extends object> (o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}
