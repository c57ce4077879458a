import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  INFRA, baseName, byKind, configEnv, containers, find, podRefs, podTemplate, render, selects, workloads,
  type K8sObject, type Overlay
} from './helpers/k8s.js'
import { KUBERNETES_VERSION, schemaErrors, unknownFields } from './helpers/schema.js'
import { CALLS_WECHAT, EXTERNAL_SECRETS, NOT_CONNECTED, SERVICES, configSchema, hasMigrations } from './helpers/services.js'

const README = readFileSync(join(INFRA, 'README.md'), 'utf8')
const ROLLOUT_LABEL = 'wxmp.io/applied-after'

/** The API server decodes Secret data with newlines in it; kustomize wraps long values, so compare unwrapped. */
function normalise (o: K8sObject): K8sObject {
  if (o.kind !== 'Secret' || o.data === undefined) return o
  return { ...o, data: Object.fromEntries(Object.entries(o.data as Record<string, string>).map(([k, v]) => [k, v.replace(/\s/g, '')])) }
}

/** Seconds the process may take after SIGTERM, from the config a container sees. */
function shutdownSeconds (env: Record<string, string>): number {
  return (Number(env.SHUTDOWN_DELAY_MS ?? 0) + Number(env.SHUTDOWN_GRACE_MS ?? 10000)) / 1000
}

/** Keys each Secret provides: rendered ones (dev) or what the operator must create (prod). */
function secretKeys (objects: K8sObject[], name: string): string[] | undefined {
  const rendered = find(objects, 'Secret', name)
  if (rendered !== undefined) return Object.keys({ ...rendered.data, ...rendered.stringData })
  return EXTERNAL_SECRETS[name]
}

for (const overlay of ['dev', 'prod'] as Overlay[]) {
  t.test(`overlays/${overlay}`, async (t) => {
    const { objects: raw, text } = await render(overlay)
    const objects = raw.map(normalise)
    const deployment = (svc: string): K8sObject => {
      const d = find(objects, 'Deployment', svc)
      if (d === undefined) throw new Error(`no Deployment ${svc}`)
      return d
    }

    t.test(`every object is valid against the Kubernetes ${KUBERNETES_VERSION} schemas`, async (t) => {
      t.ok(objects.length > 20, `${objects.length} objects rendered`)
      for (const o of objects) t.same(await schemaErrors(o), [], `${o.kind}/${o.metadata.name}`)
      const unknown = unknownFields(objects)
      t.same([...unknown].map(([i, msgs]) => `${objects[i]?.kind}/${objects[i]?.metadata.name}: ${msgs.join('; ')}`), [], 'no unknown or mistyped fields')
    })

    t.test('everything lands in the wxmp namespace, which enforces the restricted Pod Security Standard', async (t) => {
      const ns = find(objects, 'Namespace', 'wxmp')
      t.equal(ns?.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted')
      for (const o of objects.filter((o) => o.kind !== 'Namespace')) t.equal(o.metadata.namespace, 'wxmp', `${o.kind}/${o.metadata.name}`)
    })

    t.test('images are tagged with a version, never latest', async (t) => {
      for (const w of workloads(objects)) {
        for (const c of containers(podTemplate(w)!)) {
          const image = c.image as string
          const tag = /@sha256:[0-9a-f]{64}$/.test(image) ? 'digest' : /:([^/:]+)$/.exec(image)?.[1]
          t.ok(tag !== undefined && tag !== 'latest', `${w.metadata.name}/${c.name}: ${image}`)
          if (overlay === 'prod') t.match(image, /^[a-z0-9.-]+\.[a-z]+(:\d+)?\//, `${image} comes from a registry`)
        }
      }
    })

    t.test('every pod is hardened and bounded', async (t) => {
      for (const w of workloads(objects)) {
        const pod = podTemplate(w)!
        const name = `${w.kind}/${w.metadata.name}`
        t.equal(pod.spec.securityContext?.runAsNonRoot, true, `${name} runs as non-root`)
        t.ok(pod.spec.securityContext?.runAsUser > 0, `${name} has a non-root uid`)
        t.equal(pod.spec.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${name} seccomp`)
        t.equal(pod.spec.automountServiceAccountToken, false, `${name} mounts no API token`)
        for (const c of containers(pod)) {
          const sc = c.securityContext ?? {}
          t.equal(sc.allowPrivilegeEscalation, false, `${name}/${c.name} no privilege escalation`)
          t.equal(sc.readOnlyRootFilesystem, true, `${name}/${c.name} read-only root`)
          t.same(sc.capabilities?.drop, ['ALL'], `${name}/${c.name} drops all capabilities`)
          t.notOk(sc.privileged, `${name}/${c.name} not privileged`)
          for (const r of ['cpu', 'memory']) {
            t.ok(c.resources?.requests?.[r] !== undefined, `${name}/${c.name} requests ${r}`)
            t.ok(c.resources?.limits?.[r] !== undefined, `${name}/${c.name} limits ${r}`)
          }
        }
      }
    })

    t.test('the services: probes, rollout, shutdown timing, account, Service', async (t) => {
      for (const svc of SERVICES) {
        const d = deployment(svc)
        const pod = podTemplate(d)!
        const c = pod.spec.containers.find((x: any) => x.name === svc)
        t.ok(c, `${svc} container`)
        const ports = new Map<string, number>((c.ports ?? []).map((p: any) => [p.name, p.containerPort]))
        const env = configEnv(objects, c)
        t.ok(ports.has('admin') && String(ports.get('admin')) === env.PORT, `${svc} exposes its admin port ${env.PORT}`)

        t.equal(c.readinessProbe?.httpGet?.path, '/readyz', `${svc} readiness is /readyz`)
        t.equal(c.livenessProbe?.httpGet?.path, '/healthz', `${svc} liveness is /healthz`)
        for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe].filter(Boolean)) {
          t.ok(ports.has(probe.httpGet.port), `${svc} probe port ${probe.httpGet.port} is a container port`)
        }
        t.equal(c.readinessProbe.httpGet.port, 'admin', `${svc} readiness on the admin port`)
        t.equal(c.livenessProbe.httpGet.port, 'admin', `${svc} liveness on the admin port`)

        t.equal(d.spec.strategy?.type, 'RollingUpdate')
        t.equal(d.spec.strategy?.rollingUpdate?.maxUnavailable, 0, `${svc} maxUnavailable 0`)
        const preStop = c.lifecycle?.preStop?.sleep?.seconds as number
        t.ok(preStop > 0, `${svc} sleeps ${preStop} s in preStop`)
        t.ok(pod.spec.terminationGracePeriodSeconds > preStop + shutdownSeconds(env),
          `${svc} grace ${pod.spec.terminationGracePeriodSeconds} s > preStop ${preStop} s + shutdown ${shutdownSeconds(env)} s`)
        t.equal(env.DATABASE_MIGRATE ?? 'true', overlay === 'dev' ? 'true' : 'false', `${svc} migrates at boot only in dev`)

        t.ok(c.volumeMounts?.some((m: any) => m.mountPath === '/tmp'), `${svc} has a writable /tmp`)
        const tmp = pod.spec.volumes.find((v: any) => v.name === c.volumeMounts.find((m: any) => m.mountPath === '/tmp').name)
        t.ok(tmp?.emptyDir, `${svc} /tmp is an emptyDir`)

        const sa = find(objects, 'ServiceAccount', pod.spec.serviceAccountName)
        t.ok(sa, `${svc} ServiceAccount ${pod.spec.serviceAccountName} exists`)
        t.equal(sa?.automountServiceAccountToken, false, `${svc} ServiceAccount mounts no token`)

        const service = byKind(objects, 'Service').find((s) => selects({ matchLabels: s.spec.selector }, pod.metadata.labels))
        t.ok(service, `${svc} has a Service`)
        t.equal(d.metadata.labels?.[ROLLOUT_LABEL], 'migrations', `${svc} is applied after the migrations`)
        t.equal(pod.metadata.annotations?.['prometheus.io/port'], env.PORT, `${svc} is scraped on its admin port`)
      }
    })

    t.test('every ConfigMap and Secret a pod names exists, with the keys it needs', async (t) => {
      for (const w of workloads(objects)) {
        for (const ref of podRefs(podTemplate(w)!.spec)) {
          const where = `${w.kind}/${w.metadata.name} ${ref.where}`
          if (ref.kind === 'ConfigMap') {
            const cm = find(objects, 'ConfigMap', ref.name)
            t.ok(cm, `${where}: ConfigMap ${ref.name}`)
            if (ref.key !== undefined) t.ok(cm?.data?.[ref.key] !== undefined, `${where}: ${ref.name} has ${ref.key}`)
            continue
          }
          const keys = secretKeys(objects, ref.name)
          t.ok(keys, `${where}: Secret ${ref.name} is ${overlay === 'prod' ? 'documented for the operator' : 'generated'}`)
          if (ref.key !== undefined) t.ok(keys?.includes(ref.key), `${where}: ${ref.name} has ${ref.key}`)
        }
        // A file setting must point into a mounted Secret that holds that file (migration Jobs read no files).
        for (const c of w.kind === 'Job' ? [] : containers(podTemplate(w)!)) {
          const env = configEnv(objects, c)
          for (const [k, v] of Object.entries(env).filter(([k]) => k.endsWith('_FILE'))) {
            const mount = (c.volumeMounts ?? []).find((m: any) => v.startsWith(m.mountPath + '/'))
            t.ok(mount, `${w.metadata.name} ${k}=${v} is in a mounted volume`)
            const volume = podTemplate(w)!.spec.volumes.find((x: any) => x.name === mount?.name)
            if (volume?.secret !== undefined) {
              const keys = secretKeys(objects, volume.secret.secretName)
              t.ok(keys?.includes(v.slice(mount.mountPath.length + 1)), `${w.metadata.name} ${k}: ${volume.secret.secretName} holds ${v}`)
            }
          }
        }
      }
      for (const ing of byKind(objects, 'Ingress')) {
        for (const tls of ing.spec.tls ?? []) t.ok(secretKeys(objects, tls.secretName), `Ingress ${ing.metadata.name} TLS Secret ${tls.secretName}`)
        for (const rule of ing.spec.rules) {
          for (const p of rule.http.paths) {
            const s = find(objects, 'Service', p.backend.service.name)
            t.ok(s?.spec.ports.some((x: any) => x.name === p.backend.service.port.name), `Ingress ${ing.metadata.name} -> ${p.backend.service.name}:${p.backend.service.port.name}`)
          }
        }
      }
      if (overlay === 'prod') {
        t.same(byKind(objects, 'Secret').map((s) => s.metadata.name), [], 'prod commits no Secret')
        for (const [name, keys] of Object.entries(EXTERNAL_SECRETS)) {
          t.ok(README.includes(name), `infra/README.md tells how to create ${name}`)
          for (const k of keys) t.ok(README.includes(k), `infra/README.md names ${name}'s key ${k}`)
        }
      }
    })

    t.test('each service gets every setting it must have, and no setting it does not read', async (t) => {
      const apps = [...SERVICES, ...(overlay === 'dev' ? ['wechat-sim'] : [])]
      const shared = find(objects, 'ConfigMap', byKind(objects, 'ConfigMap').find((c) => baseName(c.metadata.name) === 'wxmp-config')!.metadata.name)!
      const read = new Set<string>()
      for (const svc of apps) {
        const schema = await configSchema(svc)
        const props = schema.properties as Record<string, { default?: unknown }>
        Object.keys(props).forEach((k) => read.add(k))
        const c = podTemplate(deployment(svc))!.spec.containers[0]
        const provided = new Map<string, string>()
        for (const e of c.envFrom ?? []) {
          const name = e.configMapRef?.name ?? e.secretRef?.name
          const keys = e.configMapRef !== undefined ? Object.keys(find(objects, 'ConfigMap', name)?.data ?? {}) : secretKeys(objects, name) ?? []
          for (const k of keys) provided.set(k, baseName(name))
        }
        for (const [k, p] of Object.entries(props)) {
          const mustSet = (p.default === undefined || /127\.0\.0\.1|localhost/.test(String(p.default))) && NOT_CONNECTED[svc]?.includes(k) !== true
          if (mustSet) t.ok(provided.has(k), `${svc}: ${k} is set (${p.default === undefined ? 'required' : 'its default is a local address'})`)
        }
        for (const [k, from] of provided) {
          if (from === 'wxmp-config' || props[k] !== undefined) continue
          t.fail(`${svc}: ${k} (from ${from}) is not a setting of the service`)
        }
      }
      for (const k of Object.keys(shared.data)) t.ok(read.has(k), `shared setting ${k} is read by some service`)
    })

    t.test('migrations run in a Job per database, with the release image, before the Deployments', async (t) => {
      const jobs = byKind(objects, 'Job')
      for (const svc of SERVICES.filter(hasMigrations)) {
        const job = find(objects, 'Job', `${svc}-migrate`)
        t.ok(job, `${svc}-migrate Job`)
        if (job === undefined) continue
        const jc = podTemplate(job)!.spec.containers[0]
        const dc = podTemplate(deployment(svc))!.spec.containers[0]
        t.equal(jc.image, dc.image, `${svc} migrates with the image it rolls out`)
        t.same(jc.command, ['node', 'migrate.mjs'])
        t.same(jc.envFrom, dc.envFrom, `${svc}-migrate sees the service's own config`)
        t.equal(podTemplate(job)!.spec.restartPolicy, 'Never')
        t.equal(job.metadata.labels?.['app.kubernetes.io/component'], 'migration')
      }
      // Beside them, the one Job that makes JetStream match NATS_JS_REPLICAS (nats.test.ts checks it).
      t.same(jobs.filter((j) => j.metadata.labels?.['app.kubernetes.io/component'] !== 'migration').map((j) => j.metadata.name), ['nats-provision'], 'no other Job')
      t.equal(jobs.length, SERVICES.filter(hasMigrations).length + 1)
      // release.sh applies everything without the label first: the Jobs and all they need, no Deployment.
      const first = objects.filter((o) => o.metadata.labels?.[ROLLOUT_LABEL] !== 'migrations')
      t.same(byKind(first, 'Deployment').map((d) => d.metadata.name), [], 'no Deployment in the first apply')
      for (const job of jobs) {
        for (const ref of podRefs(podTemplate(job)!.spec)) {
          const there = find(first, ref.kind, ref.name) !== undefined || (ref.kind === 'Secret' && overlay === 'prod' && EXTERNAL_SECRETS[ref.name] !== undefined)
          t.ok(there, `${job.metadata.name} ${ref.kind} ${ref.name} exists before the Job runs`)
        }
        t.ok(find(first, 'ServiceAccount', podTemplate(job)!.spec.serviceAccountName), `${job.metadata.name} ServiceAccount in the first apply`)
      }
      if (overlay === 'dev') t.ok(find(first, 'StatefulSet', 'postgres'), 'dev Postgres is up before the Jobs')
    })

    t.test('disruption: autoscaled in prod, a PodDisruptionBudget wherever there is more than one replica', async (t) => {
      const hpas = byKind(objects, 'HorizontalPodAutoscaler')
      const replicas = (d: K8sObject): number => {
        const hpa = hpas.find((h) => h.spec.scaleTargetRef.kind === d.kind && h.spec.scaleTargetRef.name === d.metadata.name)
        return hpa?.spec.minReplicas ?? d.spec.replicas ?? 1
      }
      for (const svc of SERVICES) {
        const d = deployment(svc)
        const hpa = hpas.find((h) => h.spec.scaleTargetRef.name === svc)
        if (overlay === 'prod') {
          t.ok(hpa, `${svc} is autoscaled`)
          t.equal(d.spec.replicas, undefined, `${svc} leaves replicas to its HPA, so an apply never resets them`)
          t.ok(hpa?.spec.minReplicas >= 2, `${svc} runs at least 2 replicas`)
        }
      }
      for (const w of workloads(objects).filter((w) => w.kind !== 'Job')) {
        const labels = podTemplate(w)!.metadata.labels
        const pdbs = byKind(objects, 'PodDisruptionBudget').filter((p) => selects(p.spec.selector, labels))
        if (replicas(w) > 1) {
          t.equal(pdbs.length, 1, `${w.kind}/${w.metadata.name} (${replicas(w)} replicas) has a PodDisruptionBudget`)
          t.ok(pdbs[0]?.spec.maxUnavailable >= 1 || pdbs[0]?.spec.minAvailable < replicas(w), `${w.metadata.name}'s budget lets a drain proceed`)
        } else {
          t.equal(pdbs.length, 0, `${w.kind}/${w.metadata.name} (1 replica) has no budget that would block a drain`)
        }
      }
      for (const p of byKind(objects, 'PodDisruptionBudget')) {
        t.ok(workloads(objects).some((w) => selects(p.spec.selector, podTemplate(w)!.metadata.labels)), `PDB ${p.metadata.name} selects pods`)
      }
    })

    t.test('network policies: deny by default, then only the paths the design needs', async (t) => {
      const policies = byKind(objects, 'NetworkPolicy')
      const deny = policies.find((p) => Object.keys(p.spec.podSelector).length === 0 && p.spec.ingress === undefined && p.spec.egress === undefined)
      t.same(deny?.spec.policyTypes, ['Ingress', 'Egress'], 'a default-deny policy for both directions')
      const applying = (labels: Record<string, string>, type: 'ingress' | 'egress'): any[] => policies
        .filter((p) => selects(p.spec.podSelector, labels) || Object.keys(p.spec.podSelector).length === 0)
        .flatMap((p) => p.spec[type] ?? [])
      const portsOf = (rules: any[]): Array<number | string> => rules.flatMap((r) => (r.ports ?? [{ port: 'any' }]).map((p: any) => p.port))

      for (const svc of SERVICES) {
        const labels = podTemplate(deployment(svc))!.metadata.labels!
        const ingress = applying(labels, 'ingress')
        const egress = applying(labels, 'egress')
        const wanted = svc === 'gateway' ? ['https', 'admin'] : ['admin']
        t.same([...new Set(portsOf(ingress))].sort(), wanted.sort(), `${svc} accepts connections only on ${wanted.join(', ')}`)
        for (const rule of ingress) {
          t.ok(rule.from?.length > 0, `${svc}: every ingress rule names its sources`)
          for (const from of rule.from ?? []) t.notOk(from.ipBlock, `${svc}: no ingress from raw addresses`)
        }
        const admin = ingress.filter((r) => r.ports.some((p: any) => p.port === 'admin'))
        for (const r of admin) t.same(r.from, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], `${svc} admin port only from monitoring`)
        if (svc === 'gateway') {
          const https = ingress.filter((r) => r.ports.some((p: any) => p.port === 'https'))
          t.ok(https.some((r) => r.from.some((f: any) => f.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'ingress-nginx')), 'gateway reachable from the ingress controller')
        }
        const egressPorts = new Set(portsOf(egress))
        t.ok(egressPorts.has(53) && egressPorts.has(4222), `${svc} reaches DNS and NATS`)
        t.equal(egressPorts.has(5432), hasMigrations(svc), `${svc} reaches Postgres only if it has a database`)
        t.equal(egressPorts.has(443), CALLS_WECHAT.has(svc), `${svc} reaches the internet (WeChat, 443) only if it calls WeChat`)
        t.notOk(egressPorts.has('any'), `${svc} egress is limited to named ports`)
        for (const r of egress.filter((r) => r.to?.some((x: any) => x.ipBlock !== undefined))) {
          for (const x of r.to) t.ok(x.ipBlock.except?.includes('10.0.0.0/8'), `${svc} internet egress leaves private ranges out`)
        }
      }
    })

    t.test('the gateway is published through an Ingress with TLS', async (t) => {
      const ing = find(objects, 'Ingress', 'gateway')
      t.ok(ing?.spec.tls?.[0]?.secretName, 'TLS from a Secret')
      t.equal(ing?.spec.rules[0].host, ing?.spec.tls[0].hosts[0], 'the certificate covers the host')
      t.equal(ing?.metadata.annotations?.['nginx.ingress.kubernetes.io/backend-protocol'], 'HTTPS', 'the second hop to the gateway is TLS too')
      if (overlay === 'prod') t.ok(ing?.metadata.annotations?.['cert-manager.io/cluster-issuer'], 'cert-manager issues the certificate')
    })

    t.test('WeChat: the simulator in dev, the real hosts in prod', async (t) => {
      const auth = configEnv(objects, podTemplate(deployment('auth'))!.spec.containers[0])
      const payment = configEnv(objects, podTemplate(deployment('payment'))!.spec.containers[0])
      if (overlay === 'prod') {
        t.notMatch(text, /wechat-sim|simulator|SIM_/, 'no trace of the simulator')
        t.equal(auth.WECHAT_API_BASE_URL, 'https://api.weixin.qq.com')
        t.equal(payment.WECHATPAY_API_BASE_URL, 'https://api.mch.weixin.qq.com')
      } else {
        const sim = find(objects, 'Service', 'wechat-sim')
        t.ok(find(objects, 'Deployment', 'wechat-sim') && sim, 'the simulator runs')
        const url = `http://wechat-sim:${sim?.spec.ports[0].port}`
        t.equal(auth.WECHAT_API_BASE_URL, url)
        t.equal(payment.WECHATPAY_API_BASE_URL, url)
        for (const kind of ['StatefulSet', 'Service']) {
          for (const name of ['nats', 'postgres', 'redis']) t.ok(find(objects, kind, name), `dev runs ${kind} ${name}`)
        }
        for (const s of byKind(objects, 'StatefulSet')) t.equal(s.spec.replicas, 1, `${s.metadata.name} has one replica`)
        t.match(podTemplate(find(objects, 'StatefulSet', 'nats')!)!.spec.containers[0].args, ['--jetstream'], 'NATS runs JetStream')
      }
    })
  })
}
