import t from 'tap'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { createLogger } from '@wxmp/core'
import { eventually, LogCollector, natsPrefix, privateNatsCluster, type ClusterNode } from '@wxmp/testing'
import { ensureEventsStream, eventsStreamName, openRevocationBucket, revocationBucketName, whileJetStreamSettles } from '../src/index.js'

t.test('streams and buckets take the configured replicas, and one made with fewer is raised', async (t) => {
  // Replica counts, not permissions, are under test here: the nodes admit anonymous clients.
  const nodes = await privateNatsCluster(t, { startTimeoutMs: 20_000, anonymous: true })
  const nc = await connect({ servers: nodes.map((n) => n.url) })
  t.teardown(async () => { await nc.close() })
  const logs = new LogCollector()
  const log = createLogger({ service: 'replicas-test', level: 'info', stream: logs })
  // Called as the servers come up, before the cluster has elected a leader or every peer has joined (`no suitable
  // peers for placement`): a process booting beside a fresh cluster waits for it instead of failing to start.
  const fresh = natsPrefix()
  await ensureEventsStream(nc, fresh, { replicas: 3 })
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

t.test('a process that starts while the cluster has lost its quorum creates its stream and bucket once the peers return', async (t) => {
  const nodes = await privateNatsCluster(t, { startTimeoutMs: 20_000, anonymous: true })
  const [first, ...others] = nodes as [ClusterNode, ...ClusterNode[]]
  const nc = await connect({ servers: [first.url], maxReconnectAttempts: -1 })
  t.teardown(async () => { await nc.close() })
  await ensureEventsStream(nc, natsPrefix(), { replicas: 3 })
  for (const n of others) await n.stop()

  const logs = new LogCollector()
  const log = createLogger({ service: 'replicas-test', level: 'info', stream: logs })
  const prefix = natsPrefix()
  let settled = false
  const booting = Promise.all([
    ensureEventsStream(nc, prefix, { replicas: 3, log }),
    openRevocationBucket(nc, prefix, { replicas: 3, writer: true, log })
  ]).finally(() => { settled = true })
  await eventually(() => logs.lines.filter((l) => l.msg === 'JetStream not ready; retrying').length, (n) => n >= 2, { timeoutMs: 30_000 })
  t.notOk(settled, 'nothing can be created while one node of three is up')
  for (const n of others) await n.start()
  await booting
  const jsm = await jetstreamManager(nc)
  t.equal((await jsm.streams.info(eventsStreamName(prefix))).config.num_replicas, 3, 'EVENTS is created with three replicas')
  t.equal((await jsm.streams.info(`KV_${revocationBucketName(prefix)}`)).config.num_replicas, 3, 'and the revocation bucket')
  const warned = logs.lines.find((l) => l.msg === 'JetStream not ready; retrying')
  t.match(warned, { what: String, attempt: Number }, 'each wait is logged with what it waits for')
})

t.test('an error that waiting cannot fix is thrown at once', async (t) => {
  let calls = 0
  await t.rejects(whileJetStreamSettles('nothing', async () => { calls++; throw new Error('stream name already in use with a different configuration') }), /different configuration/)
  t.equal(calls, 1, 'tried once')
})
