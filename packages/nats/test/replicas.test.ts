import t from 'tap'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { createLogger } from '@wxmp/core'
import { eventually, LogCollector, natsPrefix, privateNatsCluster } from '@wxmp/testing'
import { ensureEventsStream, eventsStreamName, openRevocationBucket, revocationBucketName } from '../src/index.js'

t.test('streams and buckets take the configured replicas, and one made with fewer is raised', async (t) => {
  // Replica counts, not permissions, are under test here: the nodes admit anonymous clients.
  const nodes = await privateNatsCluster(t, { startTimeoutMs: 20_000, anonymous: true })
  const nc = await connect({ servers: nodes.map((n) => n.url) })
  t.teardown(async () => { await nc.close() })
  const logs = new LogCollector()
  const log = createLogger({ service: 'replicas-test', level: 'info', stream: logs })
  // The cluster elects its meta leader after the servers start: until then nothing can be created.
  const fresh = natsPrefix()
  await eventually(async () => await ensureEventsStream(nc, fresh, { replicas: 3 }).then(() => true, () => false), Boolean, { timeoutMs: 60_000, everyMs: 250 })
  const jsm = await jetstreamManager(nc)
  const replicasOf = async (stream: string): Promise<number | undefined> => (await jsm.streams.info(stream).catch(() => undefined))?.config.num_replicas
  t.equal(await replicasOf(eventsStreamName(fresh)), 3, 'a new EVENTS stream has the configured three replicas')
  await openRevocationBucket(nc, fresh, { replicas: 3, writer: true })
  t.equal(await replicasOf(`KV_${revocationBucketName(fresh)}`), 3, 'a new revocation bucket too')

  // Made before the cluster grew (one replica), then a process configured for three starts.
  const old = natsPrefix()
  await ensureEventsStream(nc, old, { replicas: 1 })
  await openRevocationBucket(nc, old, { replicas: 1, writer: true })
  t.equal(await replicasOf(eventsStreamName(old)), 1)
  await ensureEventsStream(nc, old, { replicas: 3, log })
  await openRevocationBucket(nc, old, { replicas: 3, writer: true, log })
  t.equal(await replicasOf(eventsStreamName(old)), 3, 'EVENTS is raised to three')
  t.equal(await replicasOf(`KV_${revocationBucketName(old)}`), 3, 'the bucket is raised to three')
  t.equal(logs.lines.filter((l) => l.msg === 'stream replicas raised').length, 2, 'each raise is logged')

  // A reader never raises (it may not), and a count set higher by an operator is never lowered.
  await ensureEventsStream(nc, old, { replicas: 1 })
  t.equal(await replicasOf(eventsStreamName(old)), 3, 'never lowered')
})
