import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type { Static, TObject } from '@sinclair/typebox'
import { createFastify, loadConfig } from '@wxmp/core'
import { jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { eventsStreamName } from '@wxmp/nats'
import { eventually, LogCollector, natsPrefix, redisPrefix, testDatabase, type Teardown } from '@wxmp/testing'

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
}

/** Builds a service app on real Postgres, Redis and NATS, isolated for this test, closed at teardown. */
export async function buildTestService<S extends TObject> (t: Teardown, opts: TestServiceOptions<S>): Promise<TestService<S>> {
  const env: Record<string, string> = {
    LOG_LEVEL: 'debug',
    NATS_SUBJECT_PREFIX: opts.prefix ?? natsPrefix(),
    REDIS_KEY_PREFIX: redisPrefix(),
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
  return { app, config, logs }
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
