import t from 'tap'
import { jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { createLogger } from '@wxmp/core'
import { eventually, LogCollector, natsPrefix, privateNatsCluster, testNatsSeedFile, type ClusterNode, type Teardown } from '@wxmp/testing'
import { connectNats, ensureEventsStream, eventsStreamName, inboxPrefix, openRevocationBucket, provisionJetStream, revocationBucketName, whileJetStreamSettles, type NatsIdentity } from '../src/index.js'

/**
 * A connection to the cluster's nodes as `identity` of the permission matrix (every node loads the test server's
 * config): raising a stream is the provisioner's alone, so the replica counts are proved under the real permissions.
 */
async function connectAs (t: Teardown, identity: NatsIdentity, nodes: ClusterNode[], prefix: string): Promise<NatsConnection> {
  const { nc } = await connectNats({
    servers: nodes.map((n) => n.url).join(','),
    name: `${identity}-replicas-test`,
    log: createLogger({ service: 'replicas-test', level: 'silent' }),
    nkeySeedFile: testNatsSeedFile(identity),
    inboxPrefix: inboxPrefix(identity, prefix)
  })
  t.teardown(async () => { await nc.close() })
  return nc
}

t.test('streams and buckets take the configured replicas, and one made with fewer is raised', async (t) => {
  const nodes = await privateNatsCluster(t, { startTimeoutMs: 20_000 })
  const fresh = natsPrefix()
  const old = natsPrefix()
  const nc = await connectAs(t, 'provisioner', nodes, fresh)
  const logs = new LogCollector()
  const log = createLogger({ service: 'replicas-test', level: 'info', stream: logs })
  // Called as the servers come up, before the cluster has elected a leader or every peer has joined (`no suitable
  // peers for placement`): a process booting beside a fresh cluster waits for it instead of failing to start.
  await ensureEventsStream(nc, fresh, { replicas: 3 })
  const jsm = await jetstreamManager(nc)
  const replicasOf = async (stream: string): Promise<number | undefined> => (await jsm.streams.info(stream).catch(() => undefined))?.config.num_replicas
  t.equal(await replicasOf(eventsStreamName(fresh)), 3, 'a new EVENTS stream has the configured three replicas')
  await openRevocationBucket(nc, fresh, { replicas: 3, writer: true })
  t.equal(await replicasOf(`KV_${revocationBucketName(fresh)}`), 3, 'a new revocation bucket too')

  // Made before the cluster grew (one replica), then a service configured for three starts: the matrix refuses it
  // the update, so it logs the shortfall and carries on; the provisioner (the release's Job) raises both.
  const auth = await connectAs(t, 'auth', nodes, old)
  await ensureEventsStream(auth, old, { replicas: 1 })
  await openRevocationBucket(auth, old, { replicas: 1, writer: true })
  t.equal(await replicasOf(eventsStreamName(old)), 1)
  await ensureEventsStream(auth, old, { replicas: 3, log })
  await openRevocationBucket(auth, old, { replicas: 3, writer: true, log })
  t.equal(await replicasOf(eventsStreamName(old)), 1, 'a service cannot raise EVENTS')
  t.equal(logs.lines.filter((l) => l.msg === 'stream has fewer replicas than configured and could not be raised').length, 2, 'it logs each shortfall')
  const report = await provisionJetStream(nc, { prefix: old, replicas: 3, log })
  t.same(report, [{ stream: eventsStreamName(old), replicas: 3 }, { stream: `KV_${revocationBucketName(old)}`, replicas: 3 }], 'the provisioner reports both raised')
  t.equal(await replicasOf(eventsStreamName(old)), 3, 'EVENTS is raised to three')
  t.equal(await replicasOf(`KV_${revocationBucketName(old)}`), 3, 'the bucket is raised to three')
  t.equal(logs.lines.filter((l) => l.msg === 'stream replicas raised').length, 2, 'each raise is logged')

  // A reader never raises (it may not), and a count set higher by an operator is never lowered.
  await ensureEventsStream(nc, old, { replicas: 1 })
  t.equal(await replicasOf(eventsStreamName(old)), 3, 'never lowered')
})

t.test('a process that starts while the cluster has lost its quorum creates its stream and bucket once the peers return', async (t) => {
  const nodes = await privateNatsCluster(t, { startTimeoutMs: 20_000 })
  const [first, ...others] = nodes as [ClusterNode, ...ClusterNode[]]
  const warm = natsPrefix()
  await ensureEventsStream(await connectAs(t, 'provisioner', nodes, warm), warm, { replicas: 3 })
  const prefix = natsPrefix()
  // Connected to the node that stays up only, as a process whose server is the survivor.
  const nc = await connectAs(t, 'provisioner', [first], prefix)
  for (const n of others) await n.stop()

  const logs = new LogCollector()
  const log = createLogger({ service: 'replicas-test', level: 'info', stream: logs })
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
