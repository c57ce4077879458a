import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import pg, { type Pool, type PoolClient } from 'pg'
import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { jetstream, type JetStreamClient } from '@nats-io/jetstream'
import type { EventContract, EventOf } from '@wxmp/contracts'
import { ensureEventsStream, publishEvent } from '@wxmp/nats'
import { withTransaction, type Log, type TraceContext } from '@wxmp/core'

/**
 * The outbox table (`outbox`, index `outbox_pending_idx`): every service that publishes events runs this folder's
 * migration next to its own. serviceBase with `useOutbox` does at boot; the image's migration Job does for a service
 * whose package.json says `"wxmp": { "outbox": true }`.
 */
export const OUTBOX_MIGRATIONS_DIR = fileURLToPath(new URL('../src/db/migrations', import.meta.url))

/** The Postgres channel enqueueEvent notifies; Postgres delivers the notification when the transaction commits. */
export const OUTBOX_CHANNEL = 'wxmp_outbox'

export interface EnqueueOptions {
  /** Defaults to a new UUID; it becomes the event's `id` field and its Nats-Msg-Id. */
  id?: string
  trace?: TraceContext
}

const checks = new WeakMap<TSchema, TypeCheck<TSchema>>()

function checkOf (schema: TSchema): TypeCheck<TSchema> {
  let check = checks.get(schema)
  if (check === undefined) {
    check = TypeCompiler.Compile(schema)
    checks.set(schema, check)
  }
  return check
}

/**
 * Writes an event in the caller's transaction: it is published if and only if the state change it describes
 * commits. The payload must match the event's schema; one that drifted throws here, before anything is written,
 * rather than reaching consumers. Returns the event id.
 */
export async function enqueueEvent<E extends EventContract> (client: PoolClient | Pool, event: E, payload: Omit<EventOf<E>, 'id'>, opts: EnqueueOptions = {}): Promise<string> {
  const id = opts.id ?? randomUUID()
  const body = { id, ...payload }
  const check = checkOf(event.schema)
  if (!check.Check(body)) {
    const first = check.Errors(body).First()
    throw new TypeError(`${event.subject} payload does not match its schema: ${first === undefined ? 'invalid' : `${first.path === '' ? '/' : first.path} ${first.message}`}`)
  }
  // The notification wakes the relay when this transaction commits, and never if it rolls back.
  await client.query(
    `WITH inserted AS (INSERT INTO outbox (id, subject, payload, trace) VALUES ($1, $2, $3, $4) RETURNING id)
     SELECT pg_notify('${OUTBOX_CHANNEL}', '') FROM inserted`,
    [id, event.subject, JSON.stringify(body), opts.trace === undefined ? null : JSON.stringify(opts.trace)]
  )
  return id
}

export interface OutboxRelayOptions {
  pool: Pool
  /** The database to LISTEN on, over a connection of its own (the pool's clients come and go). */
  connectionString: string
  js: JetStreamClient
  prefix: string
  log: Log
  /** Safety-net poll for events whose notification was missed (the listener was reconnecting). */
  pollMs?: number
  /** Wait before the listener reconnects after losing its connection. */
  reconnectMs?: number
  /** First wait after a failed publish; it doubles with each further failure, up to maxBackoffMs. */
  backoffMs?: number
  /** Longest wait between attempts while publishing keeps failing (NATS or Postgres down). */
  maxBackoffMs?: number
}

/**
 * Relays committed events to JetStream in order, with the event id as Nats-Msg-Id. It wakes on the notification
 * enqueueEvent sends at commit, and polls slowly in case one was missed. Replicas share the table through
 * SKIP LOCKED; a crash between publish and the published_at update republishes the same id, which the stream
 * drops as a duplicate.
 */
export class OutboxRelay {
  private timer?: NodeJS.Timeout
  private running?: Promise<void>
  private again = false
  private stopped = false
  private listener?: pg.Client
  private listening?: Promise<void>
  private pause?: { timer: NodeJS.Timeout, resolve: () => void }
  private readonly pollMs: number
  private readonly reconnectMs: number
  private readonly backoffMs: number
  private readonly maxBackoffMs: number
  /** Failed drains in a row; while above zero, commits do not wake the relay before its backoff ends. */
  private failures = 0
  private backoffUntil = 0

  constructor (private readonly opts: OutboxRelayOptions) {
    this.pollMs = opts.pollMs ?? 5000
    this.reconnectMs = opts.reconnectMs ?? 1000
    this.backoffMs = opts.backoffMs ?? 250
    this.maxBackoffMs = opts.maxBackoffMs ?? 5000
  }

  /** Failed attempts in a row since the last successful drain (0 when healthy). */
  get consecutiveFailures (): number { return this.failures }

  /** Starts listening (resolves once the first attempt connected or failed) and polling. */
  async start (): Promise<void> {
    let first: () => void = () => {}
    const attempted = new Promise<void>((resolve) => { first = resolve })
    this.listening = this.listen(first)
    await attempted
    this.schedule()
  }

  /** Keeps one connection LISTENing, reconnecting after a loss; each (re)connect catches up on what it missed. */
  private async listen (attempted: () => void): Promise<void> {
    while (!this.stopped) {
      const client = new pg.Client({ connectionString: this.opts.connectionString })
      const lost = new Promise<void>((resolve) => {
        client.on('error', (err) => { this.opts.log.warn({ err: { message: err.message } }, 'outbox listener lost its connection'); resolve() })
        client.on('end', () => { resolve() })
      })
      client.on('notification', () => { this.wake() })
      try {
        await client.connect()
        await client.query(`LISTEN ${OUTBOX_CHANNEL}`)
        if (this.stopped) return
        this.listener = client
        attempted()
        this.wake()
        await lost
      } catch (err) {
        this.opts.log.warn({ err: { message: (err as Error).message } }, 'outbox listener could not connect; polling until it does')
        attempted()
      } finally {
        this.listener = undefined
        await client.end().catch(() => {})
      }
      if (!this.stopped) await this.sleep(this.reconnectMs)
    }
  }

  private async sleep (ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      this.pause = { timer: setTimeout(resolve, ms), resolve }
    })
    this.pause = undefined
  }

  /**
   * Publishes now; a wake during a drain runs one more drain after it. After a failure, wakes wait for the
   * backoff to end: during an outage every commit would otherwise retry at once.
   */
  private wake (): void {
    if (this.stopped) return
    if (this.running !== undefined) { this.again = true; return }
    const wait = this.backoffUntil - Date.now()
    if (wait > 0) { this.schedule(wait); return }
    clearTimeout(this.timer)
    this.running = this.drain().then(() => {}).finally(() => {
      this.running = undefined
      if (this.again) { this.again = false; this.wake() } else this.schedule()
    })
  }

  private schedule (ms = this.failures > 0 ? Math.max(this.backoffUntil - Date.now(), 0) : this.pollMs): void {
    if (this.stopped) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => { this.wake() }, ms)
    this.timer.unref()
  }

  /** Publishes batches until nothing is pending; returns how many events went out. */
  async drain (): Promise<number> {
    let total = 0
    for (;;) {
      let failed = false
      const n = await this.batch().catch((err: unknown) => {
        failed = true
        this.failed(err)
        return 0
      })
      if (!failed && this.failures > 0) {
        this.opts.log.info({ failures: this.failures }, 'outbox relay publishing again')
        this.failures = 0
        this.backoffUntil = 0
      }
      total += n
      if (failed || n < 100 || this.stopped) return total
    }
  }

  /** Backs off exponentially with jitter; logs the first failure of a streak as a warning and the rest at debug. */
  private failed (err: unknown): void {
    this.failures++
    const ceiling = Math.min(this.backoffMs * 2 ** (this.failures - 1), this.maxBackoffMs)
    const wait = Math.round(ceiling / 2 + Math.random() * ceiling / 2)
    this.backoffUntil = Date.now() + wait
    const fields = { err: { message: (err as Error).message }, failures: this.failures, retryInMs: wait }
    if (this.failures === 1) this.opts.log.warn(fields, 'outbox relay failed; backing off')
    else this.opts.log.debug(fields, 'outbox relay failed again; backing off')
  }

  private async batch (): Promise<number> {
    return await withTransaction(this.opts.pool, async (client) => {
      const { rows } = await client.query<{ id: string, subject: string, payload: unknown, trace: TraceContext | null }>(
        'SELECT id, subject, payload, trace FROM outbox WHERE published_at IS NULL ORDER BY created_at, id LIMIT 100 FOR UPDATE SKIP LOCKED'
      )
      for (const row of rows) {
        await publishEvent(this.opts.js, this.opts.prefix, row.subject, row.payload, row.id, row.trace ?? undefined)
      }
      if (rows.length > 0) {
        await client.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::uuid[])', [rows.map((r) => r.id)])
        this.opts.log.debug({ count: rows.length }, 'events published')
      }
      return rows.length
    })
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    if (this.pause !== undefined) { clearTimeout(this.pause.timer); this.pause.resolve() }
    await this.listener?.end().catch(() => {})
    await this.listening
    await this.running
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    outbox: OutboxRelay
  }
}

export interface OutboxPluginOptions {
  prefix: string
  /** Replicas of the EVENTS stream (NATS_JS_REPLICAS). */
  replicas: number
  /** The service's database, for the relay's LISTEN connection. */
  connectionString: string
  pollMs?: number
}

/** Runs the outbox relay for this process; needs the postgres and nats plugins. */
export const outbox = fp(async function outbox (app: FastifyInstance, opts: OutboxPluginOptions) {
  await ensureEventsStream(app.nats, opts.prefix, { replicas: opts.replicas, log: app.log })
  const relay = new OutboxRelay({
    pool: app.pg.pool,
    connectionString: opts.connectionString,
    js: jetstream(app.nats),
    prefix: opts.prefix,
    log: app.log.child({ component: 'outbox' }),
    ...(opts.pollMs === undefined ? {} : { pollMs: opts.pollMs })
  })
  app.decorate('outbox', relay)
  app.addHook('onReady', async () => { await relay.start() })
  // Before NATS drains: the last batch finishes publishing, the rest waits in the table for the next start.
  app.addHook('preClose', async () => { await relay.stop() })
}, { name: 'wxmp-outbox', fastify: '5.x', dependencies: ['wxmp-postgres', 'wxmp-nats'] })
