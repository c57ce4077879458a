import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { randomUUID } from 'node:crypto'
import type { Pool, PoolClient } from 'pg'
import type { Logger } from 'pino'
import { jetstream, type JetStreamClient } from '@nats-io/jetstream'
import { ensureEventsStream, publishEvent } from '@wxmp/nats'
import { withTransaction, type TraceContext } from '@wxmp/core'

/**
 * The outbox table every event-publishing service migrates (copy into its migrations):
 *   CREATE TABLE outbox (id uuid PRIMARY KEY, subject text NOT NULL, payload jsonb NOT NULL,
 *     trace jsonb, created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz);
 *   CREATE INDEX outbox_pending_idx ON outbox (created_at) WHERE published_at IS NULL;
 */
export interface OutboxEvent {
  /** `events.<domain>.<what>`, without the deployment prefix. */
  subject: string
  payload: Record<string, unknown>
  /** Defaults to a new UUID; it becomes the event's `id` field and its Nats-Msg-Id. */
  id?: string
  trace?: TraceContext
}

/**
 * Writes an event in the caller's transaction: it is published if and only if the state change
 * it describes commits. Returns the event id.
 */
export async function enqueueEvent (client: PoolClient | Pool, event: OutboxEvent): Promise<string> {
  const id = event.id ?? randomUUID()
  await client.query(
    'INSERT INTO outbox (id, subject, payload, trace) VALUES ($1, $2, $3, $4)',
    [id, event.subject, JSON.stringify({ id, ...event.payload }), event.trace === undefined ? null : JSON.stringify(event.trace)]
  )
  return id
}

/**
 * Relays committed events to JetStream in order, with the event id as Nats-Msg-Id. Replicas share the
 * table through SKIP LOCKED; a crash between publish and the published_at update republishes the same
 * id, which the stream drops as a duplicate.
 */
export class OutboxRelay {
  private timer?: NodeJS.Timeout
  private running?: Promise<void>
  private again = false
  private stopped = false

  constructor (
    private readonly pool: Pool,
    private readonly js: JetStreamClient,
    private readonly prefix: string,
    private readonly log: Logger,
    private readonly intervalMs = 500
  ) {}

  start (): void {
    this.schedule()
  }

  /** Publish now rather than at the next poll, e.g. right after a commit that enqueued an event. */
  kick (): void {
    if (this.stopped) return
    if (this.running !== undefined) { this.again = true; return }
    clearTimeout(this.timer)
    this.running = this.drain().then(() => {}).finally(() => {
      this.running = undefined
      if (this.again) { this.again = false; this.kick() } else this.schedule()
    })
  }

  private schedule (): void {
    if (this.stopped) return
    this.timer = setTimeout(() => this.kick(), this.intervalMs)
    this.timer.unref()
  }

  /** Publishes batches until nothing is pending; returns how many events went out. */
  async drain (): Promise<number> {
    let total = 0
    for (;;) {
      const n = await this.batch().catch((err: unknown) => {
        this.log.warn({ err }, 'outbox relay failed; retrying at the next poll')
        return 0
      })
      total += n
      if (n < 100 || this.stopped) return total
    }
  }

  private async batch (): Promise<number> {
    return await withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ id: string, subject: string, payload: unknown, trace: TraceContext | null }>(
        'SELECT id, subject, payload, trace FROM outbox WHERE published_at IS NULL ORDER BY created_at, id LIMIT 100 FOR UPDATE SKIP LOCKED'
      )
      for (const row of rows) {
        await publishEvent(this.js, this.prefix, row.subject, row.payload, row.id, row.trace ?? undefined)
      }
      if (rows.length > 0) {
        await client.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::uuid[])', [rows.map((r) => r.id)])
        this.log.debug({ count: rows.length }, 'events published')
      }
      return rows.length
    })
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    outbox: OutboxRelay
  }
}

/** Runs the outbox relay for this process; needs the postgres and nats plugins. */
export const outbox = fp(async function outbox (app: FastifyInstance, opts: { prefix: string, intervalMs?: number }) {
  await ensureEventsStream(app.nats, opts.prefix)
  const relay = new OutboxRelay(app.pg.pool, jetstream(app.nats), opts.prefix, app.log.child({ component: 'outbox' }) as never, opts.intervalMs)
  app.decorate('outbox', relay)
  app.addHook('onReady', async () => { relay.start() })
  // Before NATS drains: the last batch finishes publishing, the rest waits in the table for the next start.
  app.addHook('preClose', async () => { await relay.stop() })
}, { name: 'wxmp-outbox', fastify: '5.x', dependencies: ['wxmp-postgres', 'wxmp-nats'] })
