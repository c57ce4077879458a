import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type { Static, TObject } from '@sinclair/typebox'
import { createFastify, createLogger, loadConfig } from '@wxmp/core'
import { jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { eventsStreamName } from '@wxmp/nats'
import { eventually, LogCollector, natsPrefix, redisPrefix, testDatabase, testNatsEnv, type Teardown } from '@wxmp/testing'
import { CALLERS, NATS_IDENTITIES, NatsClient, connectNats, inboxPrefix, type NatsIdentity, type RequestOptions, type Reply } from '@wxmp/nats'
import type { ReplyOf, RequestContract, RequestOf } from '@wxmp/contracts'
import type { TraceContext } from '@wxmp/core'

export interface TestServiceOptions<S extends TObject> {
  name: string
  schema: S
  app: FastifyPluginAsync<{ config: Static<S> }>
  /** Env overrides; the test gets its own database, Redis prefix and NATS prefix unless given here. */
  env?: Record<string, string>
  /** Share a NATS prefix with other apps of the same test (a gateway and its services). */
  prefix?: string
}

export interface TestService<S extends TObject> {
  app: FastifyInstance
  config: Static<S>
  logs: LogCollector
  /** Calls on this service's prefix as the matrix's callers do (the service's own client may not call itself). */
  callers: MatrixCaller
}

/**
 * Builds a service app on real Postgres, Redis and NATS, isolated for this test, closed at teardown. A service
 * of the permission matrix connects as its identity to the test nats-server (authorization on); a fixture
 * service outside the matrix connects anonymously to the shared server.
 */
export async function buildTestService<S extends TObject> (t: Teardown, opts: TestServiceOptions<S>): Promise<TestService<S>> {
  const identity = (NATS_IDENTITIES as readonly string[]).includes(opts.name)
  const env: Record<string, string> = {
    LOG_LEVEL: 'debug',
    NATS_SUBJECT_PREFIX: opts.prefix ?? natsPrefix(),
    REDIS_KEY_PREFIX: redisPrefix(),
    ...(identity ? await testNatsEnv(opts.name) : { NATS_ALLOW_ANONYMOUS: 'true' }),
    ...opts.env
  }
  if (env.DATABASE_URL === undefined) env.DATABASE_URL = await testDatabase(t, opts.name)
  const config = loadConfig(opts.schema, env)
  const logs = new LogCollector()
  const app = createFastify({ service: opts.name, level: env.LOG_LEVEL, stream: logs })
  // Unwrapped, so the test sees the app's decorators (pg, redis, natsClient) as fastify-cli's helper does.
  await app.register(fp(opts.app), { config })
  t.teardown(async () => { await app.close() })
  await app.ready()
  return { app, config, logs, callers: new MatrixCaller(t, env.NATS_SUBJECT_PREFIX ?? '') }
}

/** Every event on the prefixed EVENTS stream whose subject matches, in order; waits for `atLeast` (1) of them, as the relay publishes after the commit. */
export async function readEvents (nc: NatsConnection, prefix: string, subject: string, opts: { atLeast?: number, waitMs?: number } = {}): Promise<Array<Record<string, unknown>>> {
  const jsm = await jetstreamManager(nc)
  const stream = eventsStreamName(prefix)
  const read = async (): Promise<Array<Record<string, unknown>>> => {
    const events: Array<Record<string, unknown>> = []
    const info = await jsm.streams.info(stream).catch(() => undefined)
    const last = info?.state.last_seq ?? 0
    for (let seq = Math.max(info?.state.first_seq ?? 1, 1); seq <= last; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq }).catch(() => undefined)
      if (m !== undefined && m !== null && m.subject === prefix + subject) events.push(m.json<Record<string, unknown>>())
    }
    return events
  }
  return await eventually(read, (events) => events.length >= (opts.atLeast ?? 1), { timeoutMs: opts.waitMs ?? 10_000, everyMs: 100 })
}

/**
 * A connection to the test nats-server as `identity`, made the way its process makes it (nkey seed, inbox
 * prefix): for a stand-in that answers that service's subjects, or a test calling as that caller. Closed at teardown.
 */
export async function connectAs (t: Teardown, identity: NatsIdentity | 'operator', prefix: string): Promise<NatsConnection> {
  const env = await testNatsEnv(identity)
  const { nc } = await connectNats({
    servers: env.NATS_URL,
    name: `${identity}-test`,
    log: createLogger({ service: `${identity}-test`, level: 'silent' }),
    nkeySeedFile: env.NATS_NKEY_SEED_FILE,
    inboxPrefix: inboxPrefix(identity, prefix)
  })
  t.teardown(async () => { if (!nc.isClosed()) await nc.drain().catch(async () => { await nc.close() }) })
  return nc
}

/** A NatsClient calling as `identity` (the gateway for public subjects, auth for `user.ensure`...). */
export async function clientAs (t: Teardown, identity: NatsIdentity, prefix: string, timeoutMs = 5000): Promise<NatsClient> {
  return new NatsClient(await connectAs(t, identity, prefix), prefix, timeoutMs)
}

/**
 * A connection for inspecting streams (readEvents) or deleting one: the test server's operator, outside the
 * matrix, sending and answering no service subject.
 */
export async function connectOperator (t: Teardown, prefix: string): Promise<NatsConnection> {
  return await connectAs(t, 'operator', prefix)
}

/**
 * Calls each subject as the identity the permission matrix lets call it (the gateway for public subjects, auth
 * for `user.ensure`, payment for `user.identity`), as the real caller would; a subject outside the matrix goes
 * out as the gateway. Connections open on first use and close at teardown.
 */
export class MatrixCaller {
  private readonly clients = new Map<NatsIdentity, Promise<NatsClient>>()
  constructor (private readonly t: Teardown, readonly prefix: string, private readonly timeoutMs = 5000) {}

  /** The client of one identity. */
  async as (identity: NatsIdentity): Promise<NatsClient> {
    let c = this.clients.get(identity)
    if (c === undefined) {
      c = clientAs(this.t, identity, this.prefix, this.timeoutMs)
      this.clients.set(identity, c)
    }
    return await c
  }

  async request<C extends RequestContract>(contract: C, payload: RequestOf<C>, ctx: TraceContext | undefined, opts?: RequestOptions): Promise<Reply<ReplyOf<C>>>
  async request<T = unknown>(subject: string, payload: unknown, ctx: TraceContext | undefined, opts?: RequestOptions): Promise<Reply<T>>
  async request (target: string | RequestContract, payload: unknown, ctx: TraceContext | undefined, opts?: RequestOptions): Promise<Reply<unknown>> {
    const subject = typeof target === 'string' ? target : target.subject
    const client = await this.as(CALLERS[subject]?.[0] ?? 'gateway')
    // The contract itself, not its subject: a raw contract (auth.wechatPush) sends its bytes as they are.
    return typeof target === 'string' ? await client.request<unknown>(target, payload, ctx, opts) : await client.request(target, payload as never, ctx, opts)
  }
}
