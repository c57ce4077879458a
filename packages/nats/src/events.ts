import { jetstream, jetstreamManager, type JetStreamClient, type PubAck } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { EVENTS_STREAM, prefixedName } from '@wxmp/contracts'
import type { TraceContext } from '@wxmp/core'
import { encodeJson, outgoingHeaders } from './codec.js'

/**
 * JetStream drops a second publish with the same Nats-Msg-Id inside this window. An outbox relay that
 * republishes after a crash does so within seconds, far inside it.
 */
export const EVENTS_DUPLICATE_WINDOW_MS = 60 * 60 * 1000

export function eventsStreamName (prefix: string): string {
  return prefixedName(prefix, EVENTS_STREAM.name)
}

/** Creates the EVENTS stream if missing; every publisher calls it at boot, so start order does not matter. */
export async function ensureEventsStream (nc: NatsConnection, prefix: string): Promise<void> {
  const jsm = await jetstreamManager(nc)
  const name = eventsStreamName(prefix)
  const config = {
    name,
    subjects: [`${prefix}${EVENTS_STREAM.subjects}`],
    duplicate_window: EVENTS_DUPLICATE_WINDOW_MS * 1_000_000,
    max_age: 7 * 24 * 3600 * 1_000_000_000
  }
  try {
    await jsm.streams.info(name)
  } catch {
    try {
      await jsm.streams.add(config)
    } catch (err) {
      // Another replica created it between the lookup and the add.
      await jsm.streams.info(name).catch(() => { throw err })
    }
  }
}

/** Publishes one event with its id as Nats-Msg-Id, so a republish of the same event is dropped by the stream. */
export async function publishEvent (js: JetStreamClient, prefix: string, subject: string, payload: unknown, eventId: string, trace?: TraceContext): Promise<PubAck> {
  const { headers } = outgoingHeaders(trace)
  return await js.publish(prefix + subject, encodeJson(payload), { msgID: eventId, headers, timeout: 5000 })
}

export { jetstream }
