import { jetstream, jetstreamManager, type JetStreamClient, type PubAck } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { EVENTS_STREAM, prefixedName } from '@wxmp/contracts'
import type { Log, TraceContext } from '@wxmp/core'
import { encodeJson, outgoingHeaders } from './codec.js'
import { ensureStream } from './replicas.js'
import { whileJetStreamSettles } from './settling.js'

/**
 * JetStream drops a second publish with the same Nats-Msg-Id inside this window. An outbox relay that
 * republishes after a crash does so within seconds, far inside it.
 */
export const EVENTS_DUPLICATE_WINDOW_MS = 60 * 60 * 1000

export function eventsStreamName (prefix: string): string {
  return prefixedName(prefix, EVENTS_STREAM.name)
}

export interface StreamReplicaOptions {
  /** Copies of the stream on a cluster (NATS_JS_REPLICAS); one with fewer is raised to it. */
  replicas: number
  log?: Log
}

/**
 * Creates the EVENTS stream if missing, with the configured replicas, and raises one that has fewer; every
 * publisher calls it at boot, so start order does not matter; a cluster still forming is waited for (up to a minute).
 */
export async function ensureEventsStream (nc: NatsConnection, prefix: string, opts: StreamReplicaOptions): Promise<void> {
  await whileJetStreamSettles('stream EVENTS', async () => await ensureStream(await jetstreamManager(nc), {
    name: eventsStreamName(prefix),
    subjects: [`${prefix}${EVENTS_STREAM.subjects}`],
    duplicate_window: EVENTS_DUPLICATE_WINDOW_MS * 1_000_000,
    max_age: 7 * 24 * 3600 * 1_000_000_000
  }, opts.replicas, opts.log), { log: opts.log })
}

/** Publishes one event with its id as Nats-Msg-Id, so a republish of the same event is dropped by the stream. */
export async function publishEvent (js: JetStreamClient, prefix: string, subject: string, payload: unknown, eventId: string, trace?: TraceContext): Promise<PubAck> {
  const { headers } = outgoingHeaders(trace)
  return await js.publish(prefix + subject, encodeJson(payload), { msgID: eventId, headers, timeout: 5000 })
}

export { jetstream }
