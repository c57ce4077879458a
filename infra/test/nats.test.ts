import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, nkeyAuthenticator } from '@nats-io/transport-node'
import { readFileSync } from 'node:fs'
import { NATS_IDENTITIES, inboxPrefix, permissionsFor, provisionJetStream } from '@wxmp/nats'
import { freePort, privateNats } from '@wxmp/testing'
import { NATS_CLUSTER_PORT, NATS_CLUSTER_TLS_MOUNT, NATS_TLS_MOUNT, kubernetesNatsConfig, nkeyVariable } from '../scripts/render-nats-config.js'
import { INFRA, byKind, configEnv, find, podTemplate, render, selects, type K8sObject, type Overlay } from './helpers/k8s.js'
import { EXTERNAL_SECRETS, SERVICES } from './helpers/services.js'

const baseName = (name: string): string => name.replace(/-[a-z0-9]{10}$/, '')

/** A Secret's keys by its name before the generator's hash: rendered ones (dev) or what the operator creates (prod). */
function secretKeys (objects: K8sObject[], name: string): string[] | undefined {
  const s = byKind(objects, 'Secret').find((x) => baseName(x.metadata.name) === baseName(name))
  return s !== undefined ? Object.keys(s.data ?? {}) : EXTERNAL_SECRETS[baseName(name)]
}

function configMap (objects: K8sObject[], base: string): K8sObject | undefined {
  return byKind(objects, 'ConfigMap').find((c) => baseName(c.metadata.name) === base)
}

const rendered = new Map<Overlay, K8sObject[]>()

for (const overlay of ['dev', 'prod'] as Overlay[]) {
  t.test(`overlays/${overlay}: NATS runs the permission matrix`, async (t) => {
    const { objects } = await render(overlay)
    rendered.set(overlay, objects)
    const sts = find(objects, 'StatefulSet', 'nats')
    t.ok(sts, 'NATS is deployed by the manifests')
    const pod = podTemplate(sts!)!
    const c = pod.spec.containers[0]
    const volumeOf = (mountPath: string): any => pod.spec.volumes.find((v: any) => v.name === c.volumeMounts.find((m: any) => m.mountPath === mountPath)?.name)

    const configArg = (c.args as string[]).find((a) => a.startsWith('--config='))?.slice('--config='.length)
    t.ok(configArg, 'the server loads a config file')
    const cmName = volumeOf(configArg!)?.configMap?.name
    const conf = find(objects, 'ConfigMap', cmName)?.data?.['nats-server.conf']
    // Three servers in prod, one in dev; the config is rendered for that many (a cluster block only for more than one).
    const servers = overlay === 'prod' ? 3 : 1
    t.equal(sts!.spec.replicas, servers, `NATS runs ${servers} server(s) in ${overlay}`)
    t.equal(conf, kubernetesNatsConfig({ clusterSize: servers }), 'the mounted config is the matrix as rendered now (run `pnpm --filter @wxmp/infra render-nats-config` after changing it)')
    t.equal(configMap(objects, 'nats-config')?.metadata.name, cmName, 'from the nats-config ConfigMap')

    t.test('one nkey user per identity, its public key from the nats-users Secret', async (t) => {
      const fromSecret = (c.envFrom ?? []).filter((e: any) => baseName(e.secretRef?.name ?? '') === 'nats-users')
      t.equal(fromSecret.length, 1, 'the server\'s environment comes from nats-users')
      for (const id of NATS_IDENTITIES) {
        t.ok(secretKeys(objects, 'nats-users')?.includes(nkeyVariable(id)), `nats-users holds ${nkeyVariable(id)}`)
        t.match(conf, new RegExp(`nkey: \\$${nkeyVariable(id)}\\n`), `the config names ${id}'s key`)
      }
      t.notMatch(conf, /no_auth_user|\b(user|password|token):/, 'no anonymous user, no shared password or token')
    })

    t.test('TLS from the nats-tls Secret, JetStream on a persistent volume', async (t) => {
      const tls = volumeOf(NATS_TLS_MOUNT)?.secret?.secretName
      t.equal(baseName(tls ?? ''), 'nats-tls', `nats-tls is mounted at ${NATS_TLS_MOUNT}`)
      for (const k of ['tls.crt', 'tls.key', 'ca.crt']) {
        t.ok(secretKeys(objects, 'nats-tls')?.includes(k), `nats-tls holds ${k}`)
        t.match(conf, `"${NATS_TLS_MOUNT}/${k}"`, `the config reads ${k}`)
      }
      t.ok((c.args as string[]).includes('--jetstream'), 'JetStream is on')
      const store = /store_dir: "([^"]+)"/.exec(conf ?? '')?.[1] ?? ''
      const mount = c.volumeMounts.find((m: any) => store.startsWith(m.mountPath + '/'))
      t.ok(sts!.spec.volumeClaimTemplates.some((v: any) => v.metadata.name === mount?.name), `the store ${store} is on a PersistentVolumeClaim`)
    })

    t.test('only the wxmp service pods and the provisioning Job reach the client port; only NATS pods the routes', async (t) => {
      const labels = pod.metadata.labels ?? {}
      const policies = byKind(objects, 'NetworkPolicy').filter((p) => selects(p.spec.podSelector, labels) && p.spec.ingress !== undefined)
      const all = policies.flatMap((p) => p.spec.ingress)
      const isRoute = (rule: any): boolean => rule.ports?.some((p: any) => p.port === 'cluster')
      const rules = all.filter((r: any) => !isRoute(r))
      t.ok(rules.length > 0, 'a policy admits clients')
      const routeRules = all.filter(isRoute)
      t.ok(routeRules.length > 0, 'a policy admits routes')
      for (const rule of routeRules) {
        t.same(rule.ports, [{ port: 'cluster', protocol: 'TCP' }], 'route rules admit the cluster port only')
        for (const from of rule.from) t.same(from, { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'nats' } } }, 'from NATS pods only')
      }
      const egress = policies.filter((p) => p.spec.egress !== undefined).flatMap((p) => p.spec.egress)
      t.ok(egress.some((r: any) => r.ports?.some((p: any) => p.port === NATS_CLUSTER_PORT) && r.to.some((to: any) => selects(to.podSelector, labels))), 'NATS pods dial each other\'s route port')
      const job = find(objects, 'Job', 'nats-provision')!
      for (const rule of rules) for (const from of rule.from) t.ok(selects(from.podSelector, podTemplate(job)!.metadata.labels), 'the provisioning Job is admitted')
      const servicePods = SERVICES.map((svc) => podTemplate(find(objects, 'Deployment', svc)!)!.metadata.labels ?? {})
      const others = byKind(objects, 'Deployment').filter((d) => !(SERVICES as readonly string[]).includes(d.metadata.name))
        .map((d) => podTemplate(d)!.metadata.labels ?? {})
      for (const rule of rules) {
        t.same(rule.ports, [{ port: 'client', protocol: 'TCP' }], 'only the client port')
        for (const from of rule.from) {
          t.notOk(from.ipBlock ?? from.namespaceSelector, 'no sources by address or namespace')
          for (const [i, l] of servicePods.entries()) t.ok(selects(from.podSelector, l), `${SERVICES[i]} pods are admitted`)
          for (const l of others) t.notOk(selects(from.podSelector, l), `${l['app.kubernetes.io/name']} pods are not`)
        }
      }
      t.equal(c.ports.find((p: any) => p.name === 'client')?.containerPort, 4222)
    })

    t.test(`a ${servers === 1 ? 'single server' : `${servers}-server JetStream cluster`}: stable names, a volume each, routes over TLS, drained one at a time`, async (t) => {
      const headless = find(objects, 'Service', sts!.spec.serviceName)
      t.equal(headless?.spec.clusterIP, 'None', `the StatefulSet's Service ${sts!.spec.serviceName} is headless`)
      t.equal(headless?.spec.publishNotReadyAddresses, true, 'its names resolve before the pods are ready, so a forming cluster finds its peers')
      t.ok(selects({ matchLabels: headless?.spec.selector }, pod.metadata.labels), 'it selects the NATS pods')
      t.ok(headless?.spec.ports.some((p: any) => p.name === 'cluster' && p.port === NATS_CLUSTER_PORT), 'it names the route port')
      t.equal(c.ports.find((p: any) => p.name === 'cluster')?.containerPort, NATS_CLUSTER_PORT)
      t.equal(sts!.spec.podManagementPolicy, 'Parallel', 'the servers start together')
      t.equal(sts!.spec.volumeClaimTemplates.length, 1, 'every server has its own PersistentVolumeClaim for JetStream')
      t.match(conf, /server_name: \$POD_NAME\n/, 'each server is named by its pod')
      const pdb = byKind(objects, 'PodDisruptionBudget').find((p) => selects(p.spec.selector, pod.metadata.labels))
      if (servers === 1) {
        t.notMatch(conf, /\ncluster:/, 'one server has no cluster block')
        t.notOk(pdb, 'one server: no budget that would block a drain')
        return
      }
      const routes = [...(conf ?? '').matchAll(/"nats-route:\/\/([^"]+)"/g)].map((m) => m[1])
      t.same(routes, Array.from({ length: servers }, (_v, i) => `${sts!.metadata.name}-${i}.${headless?.metadata.name}:${NATS_CLUSTER_PORT}`), 'routes name every pod through the headless Service')
      const cluster = /\ncluster: \{\n([\s\S]*?)\n\}/.exec(conf ?? '')?.[1] ?? ''
      t.match(cluster, `listen: "0.0.0.0:${NATS_CLUSTER_PORT}"`)
      t.match(cluster, /no_advertise: true/, 'clients stay on the Service name their TLS verification matches')
      const clusterTls = volumeOf(NATS_CLUSTER_TLS_MOUNT)?.secret?.secretName
      t.equal(baseName(clusterTls ?? ''), 'nats-cluster-tls', `the route certificate is mounted at ${NATS_CLUSTER_TLS_MOUNT}`)
      for (const k of ['tls.crt', 'tls.key', 'ca.crt']) {
        t.ok(secretKeys(objects, 'nats-cluster-tls')?.includes(k), `nats-cluster-tls holds ${k}`)
        t.match(cluster, `"${NATS_CLUSTER_TLS_MOUNT}/${k}"`, `routes use ${k}`)
      }
      t.match(cluster, /verify: true/, 'each server verifies its peers\' certificates')
      t.equal(pdb?.spec.maxUnavailable, 1, 'a drain takes one server at a time, keeping the quorum')
      const spread = pod.spec.topologySpreadConstraints ?? []
      t.ok(spread.some((s: any) => s.topologyKey === 'kubernetes.io/hostname' && s.whenUnsatisfiable === 'DoNotSchedule'), 'never two servers on one node')
    })

    t.test('streams and buckets get one copy per server, raised by the provisioning Job', async (t) => {
      const servers = sts!.spec.replicas as number
      for (const svc of SERVICES) {
        const env = configEnv(objects, podTemplate(find(objects, 'Deployment', svc)!)!.spec.containers[0])
        t.equal(env.NATS_JS_REPLICAS, String(servers), `${svc} creates streams and buckets with ${servers} replica(s)`)
      }
      const job = find(objects, 'Job', 'nats-provision')
      t.ok(job, 'a nats-provision Job')
      const js = podTemplate(job!)!.spec
      const jc = js.containers[0]
      const env = configEnv(objects, jc)
      t.equal(env.NATS_JS_REPLICAS, String(servers), `it raises them to ${servers}`)
      t.match(env.NATS_URL, /^tls:\/\//, 'over TLS')
      t.same(jc.command, ['node', 'node_modules/@wxmp/nats/dist/provision-cli.js'], 'it runs the provisioner of @wxmp/nats')
      t.equal(jc.image, podTemplate(find(objects, 'Deployment', 'auth')!)!.spec.containers[0].image, 'from the auth image of the release')
      const mount = jc.volumeMounts.find((m: any) => env.NATS_NKEY_SEED_FILE?.startsWith(m.mountPath + '/'))
      t.equal(baseName(js.volumes.find((v: any) => v.name === mount?.name)?.secret?.secretName ?? ''), 'provisioner-nats', 'as the provisioner identity, from its own Secret')
      t.ok(secretKeys(objects, 'provisioner-nats')?.includes('nkey.seed'))
      t.equal(job!.metadata.labels?.['wxmp.io/applied-after'], undefined, 'it runs in the first apply, before the Deployments')
      const release = readFileSync(join(INFRA, 'scripts', 'release.sh'), 'utf8')
      t.match(release, job!.metadata.labels?.['app.kubernetes.io/component'], 'release.sh waits for it')
    })

    t.test('each service connects over TLS with its own identity', async (t) => {
      for (const svc of SERVICES) {
        const sc = podTemplate(find(objects, 'Deployment', svc)!)!.spec
        const container = sc.containers[0]
        const env = configEnv(objects, container)
        t.match(env.NATS_URL, /^tls:\/\//, `${svc} requires TLS`)
        for (const [k, file] of [['NATS_NKEY_SEED_FILE', 'nkey.seed'], ['NATS_TLS_CA_FILE', 'ca.crt']] as const) {
          const mount = container.volumeMounts.find((m: any) => env[k]?.startsWith(m.mountPath + '/'))
          const secret = sc.volumes.find((v: any) => v.name === mount?.name)?.secret?.secretName
          t.equal(baseName(secret ?? ''), `${svc}-nats`, `${svc}'s ${k} is in its own Secret`)
          t.equal(env[k]?.slice(mount.mountPath.length + 1), file)
          t.ok(secretKeys(objects, secret)?.includes(file), `${secret} holds ${file}`)
        }
      }
    })
  })
}

t.test('the dev overlay\'s config, secrets and seeds work together on a real server', async (t) => {
  const objects = rendered.get('dev') ?? (await render('dev')).objects
  const dir = mkdtempSync(join(tmpdir(), 'wxmp-nats-dev-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const secret = (name: string, key: string): string =>
    Buffer.from(byKind(objects, 'Secret').find((s) => baseName(s.metadata.name) === name)?.data?.[key] ?? '', 'base64').toString('utf8')
  for (const k of ['tls.crt', 'tls.key', 'ca.crt']) writeFileSync(join(dir, k), secret('nats-tls', k))
  // The server resolves the nkey variables from its environment, as in the pod (envFrom nats-users).
  for (const id of NATS_IDENTITIES) process.env[nkeyVariable(id)] = secret('nats-users', nkeyVariable(id))
  process.env.POD_NAME = 'nats-0'
  const httpPort = await freePort()
  const server = await privateNats(t, {
    config: (_port, storeDir) => configMap(objects, 'nats-config')!.data!['nats-server.conf']!
      .replaceAll(NATS_TLS_MOUNT, dir).replace('/data/jetstream', storeDir).replace('http_port: 8222', `http_port: ${httpPort}`)
  })
  const url = `tls://localhost:${server.port}`
  const as = async (id: string) => await connect({
    servers: url,
    reconnect: false,
    tls: { caFile: join(dir, 'ca.crt') },
    inboxPrefix: inboxPrefix(id as never, ''),
    authenticator: nkeyAuthenticator(new TextEncoder().encode(secret(`${id}-nats`, 'nkey.seed').trim()))
  })

  await t.rejects(connect({ servers: url, reconnect: false, tls: { caFile: join(dir, 'ca.crt') } }), /Authorization Violation/, 'anonymous is refused')
  await t.rejects(connect({ servers: `nats://127.0.0.1:${server.port}`, reconnect: false, tls: null }), 'a plain connection is refused')
  const provisioner = await as('provisioner')
  t.teardown(async () => { await provisioner.close() })
  t.same(await provisionJetStream(provisioner, { prefix: '', replicas: 1 }), [{ stream: 'EVENTS', replicas: 1 }, { stream: 'KV_revoked_sessions', replicas: 1 }],
    'the provisioning Job\'s seed creates EVENTS and the revocation bucket')
  for (const svc of SERVICES) {
    t.equal(secret(`${svc}-nats`, 'ca.crt'), secret('nats-tls', 'ca.crt'), `${svc} trusts the server's CA`)
    const nc = await as(svc)
    t.teardown(async () => { await nc.close() })
    const own = permissionsFor(svc as never, '').subscribe.allow.find((s) => !s.startsWith('_INBOX') && !s.startsWith('$'))
    if (own !== undefined) {
      const sub = nc.subscribe(own)
      await nc.flush()
      t.equal(await Promise.race([sub.closed, nc.flush().then(() => 'open')]), 'open', `${svc} answers its own ${own}`)
    }
    const foreign = nc.subscribe('auth.jwks')
    await nc.flush()
    const closed = svc === 'auth' ? 'own' : await Promise.race([foreign.closed, nc.flush().then(() => 'open')])
    if (svc !== 'auth') t.match(String(closed), /Permissions Violation/, `${svc} cannot answer auth.jwks`)
  }
})
