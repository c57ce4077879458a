import { jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Log } from '@wxmp/core'
import { ensureEventsStream, eventsStreamName } from './events.js'
import { openRevocationBucket, revocationBucketName } from './revocation-bucket.js'
import { whileJetStreamSettles } from './settling.js'

export interface ProvisionOptions {
  /** Deployment prefix of the stream and bucket names; empty in production. */
  prefix: string
  /** Copies every stream and bucket must have (NATS_JS_REPLICAS). */
  replicas: number
  log?: Log
  /** How long to wait for a forming cluster before giving up (default one minute). */
  timeoutMs?: number
}

/** One stream as the provisioner left it. */
export interface ProvisionedStream {
  stream: string
  replicas: number
}

/**
 * The release step that makes JetStream match the configuration, run as the matrix's `provisioner` identity (the
 * only one allowed `$JS.API.STREAM.UPDATE`): creates EVENTS and the revocation bucket with `replicas` copies when
 * missing, raises any that has fewer (a stream made while NATS was one server), and checks the result. Unlike the
 * services, which log a shortfall and carry on, it fails when a stream still has fewer copies than configured, so
 * the release stops before the rollout. It never lowers a count and never touches messages or keys.
 */
export async function provisionJetStream (nc: NatsConnection, opts: ProvisionOptions): Promise<ProvisionedStream[]> {
  const settle = { log: opts.log, timeoutMs: opts.timeoutMs }
  await ensureEventsStream(nc, opts.prefix, { replicas: opts.replicas, log: opts.log })
  await openRevocationBucket(nc, opts.prefix, { replicas: opts.replicas, writer: true, log: opts.log })
  const jsm = await jetstreamManager(nc)
  const streams = [eventsStreamName(opts.prefix), `KV_${revocationBucketName(opts.prefix)}`]
  const report: ProvisionedStream[] = []
  for (const stream of streams) {
    // The raise above logs a failure and carries on (as a service must); here a failure is thrown, after waiting
    // out a cluster that is still placing the new peers.
    const replicas = await whileJetStreamSettles(`replicas of ${stream}`, async () => {
      const info = await jsm.streams.info(stream)
      const have = info.config.num_replicas ?? 1
      if (have >= opts.replicas) return have
      const updated = await jsm.streams.update(stream, { ...info.config, num_replicas: opts.replicas })
      opts.log?.info({ stream, from: have, to: opts.replicas }, 'stream replicas raised')
      return updated.config.num_replicas ?? 1
    }, settle)
    if (replicas < opts.replicas) throw new Error(`stream ${stream} has ${replicas} replicas, ${opts.replicas} configured`)
    report.push({ stream, replicas })
  }
  return report
}
