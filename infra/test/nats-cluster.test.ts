import t from 'tap'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node'
import { NATS_IDENTITIES, inboxPrefix, provisionJetStream } from '@wxmp/nats'
import { eventually, freePort, privateNats } from '@wxmp/testing'
import { selfSignedTls } from '../../scripts/dev-secrets.mjs'
import { NATS_CLUSTER_PORT, NATS_CLUSTER_TLS_MOUNT, NATS_TLS_MOUNT, nkeyVariable } from '../scripts/render-nats-config.js'
import { baseName, byKind, find, render } from './helpers/k8s.js'

// The prod overlay's NATS config booted for real: three servers on this machine, each with the rendered file, only
// its addresses moved to loopback (pod names and mounts are the cluster's), and the dev overlay's certificate and
// nkeys standing in for the operator's Secrets.
t.test('the prod overlay\'s config forms a three-server JetStream cluster over TLS routes that keeps three copies', async (t) => {
  const prod = (await render('prod')).objects
  const dev = (await render('dev')).objects
  const sts = find(prod, 'StatefulSet', 'nats')!
  const conf = byKind(prod, 'ConfigMap').find((c) => baseName(c.metadata.name) === 'nats-config')!.data!['nats-server.conf'] as string
  const servers = sts.spec.replicas as number
  t.equal(servers, 3)

  const dir = mkdtempSync(join(tmpdir(), 'wxmp-nats-cluster-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const secret = (name: string, key: string): string =>
    Buffer.from(byKind(dev, 'Secret').find((s) => baseName(s.metadata.name) === name)?.data?.[key] ?? '', 'base64').toString('utf8')
  const clientTls = join(dir, 'tls')
  const routeTls = join(dir, 'cluster-tls')
  mkdirSync(clientTls)
  mkdirSync(routeTls)
  for (const k of ['tls.crt', 'tls.key', 'ca.crt']) writeFileSync(join(clientTls, k), secret('nats-tls', k))
  // The route certificate names the peers the routes dial (here 127.0.0.1) and serves as server and client.
  const route = await selfSignedTls(['localhost'], ['127.0.0.1'], { clientAuth: true })
  writeFileSync(join(routeTls, 'tls.crt'), route.cert)
  writeFileSync(join(routeTls, 'tls.key'), route.key)
  writeFileSync(join(routeTls, 'ca.crt'), route.cert)
  for (const id of NATS_IDENTITIES) process.env[nkeyVariable(id)] = secret('nats-users', nkeyVariable(id))

  const routePorts = await Promise.all(Array.from({ length: servers }, async () => await freePort()))
  const httpPorts = await Promise.all(Array.from({ length: servers }, async () => await freePort()))
  const nodes = await Promise.all(routePorts.map(async (routePort, i) => await privateNats(t, {
    startTimeoutMs: 20_000,
    config: (_port, storeDir) => {
      let text = conf
        .replaceAll(NATS_CLUSTER_TLS_MOUNT, routeTls).replaceAll(NATS_TLS_MOUNT, clientTls)
        .replace('/data/jetstream', storeDir).replace('http_port: 8222', `http_port: ${httpPorts[i] as number}`)
        .replace('server_name: $POD_NAME', `server_name: "nats-${i}"`)
        .replace(`listen: "0.0.0.0:${NATS_CLUSTER_PORT}"`, `listen: "127.0.0.1:${routePort}"`)
      for (const [j, p] of routePorts.entries()) text = text.replace(`nats-route://nats-${j}.nats-headless:${NATS_CLUSTER_PORT}`, `nats-route://127.0.0.1:${p}`)
      return text
    }
  })))

  const varz = async (i: number, path = 'varz'): Promise<any> => await (await fetch(`http://127.0.0.1:${httpPorts[i] as number}/${path}`)).json()
  t.ok(await eventually(async () => (await Promise.all(nodes.map(async (_n, i) => (await varz(i, 'routez')).num_routes as number))).every((n) => n >= servers - 1), Boolean, { timeoutMs: 30_000 }),
    'every server routes to the other two')
  for (const i of nodes.keys()) t.equal((await varz(i)).cluster?.tls_required, true, `nats-${i}'s routes require TLS`)

  const caFile = join(clientTls, 'ca.crt')
  const urls = nodes.map((n) => `tls://localhost:${n.port}`)
  const as = async (id: string, servers = urls): Promise<NatsConnection> => {
    const nc = await connect({
      servers,
      tls: { caFile },
      inboxPrefix: inboxPrefix(id as never, ''),
      authenticator: nkeyAuthenticator(new TextEncoder().encode(secret(`${id}-nats`, 'nkey.seed').trim()))
    })
    t.teardown(async () => { await nc.close() })
    return nc
  }
  const report = await provisionJetStream(await as('provisioner'), { prefix: '', replicas: servers, timeoutMs: 60_000 })
  t.same(report, [{ stream: 'EVENTS', replicas: 3 }, { stream: 'KV_revoked_sessions', replicas: 3 }], 'the provisioner creates EVENTS and the revocation bucket with three copies')
  // Stream info as the services ask for it (the JetStream API), each on a server of its own.
  const streamInfo = async (nc: NatsConnection, stream: string): Promise<any> => (await nc.request(`$JS.API.STREAM.INFO.${stream}`, '', { timeout: 5000 })).json()
  const user = await as('user', [urls[2] as string])
  const events = await streamInfo(user, 'EVENTS')
  t.equal(events.config.num_replicas, servers, 'user, on the third server, sees EVENTS with three copies')
  t.equal(events.cluster?.replicas?.length, servers - 1, 'a leader and two followers')
  const bucket = await streamInfo(await as('gateway', [urls[1] as string]), 'KV_revoked_sessions')
  t.equal(bucket.config.num_replicas, servers, 'the gateway, on the second server, sees the bucket with three copies')
  t.notOk(await connect({ servers: urls[1], tls: { caFile }, reconnect: false }).then(async (nc) => { await nc.close(); return true }, () => false), 'anonymous clients are refused')

  await nodes[0]!.stop()
  t.ok(await eventually(async () => (await streamInfo(user, 'EVENTS').catch(() => undefined))?.cluster?.leader !== undefined, Boolean, { timeoutMs: 30_000 }),
    'with one server down, the other two keep EVENTS led and answering')
})
