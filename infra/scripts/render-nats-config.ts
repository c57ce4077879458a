// Renders the nats-server configs of the Kubernetes manifests from the permission matrix
// (packages/nats/src/permissions.ts): k8s/base/nats/nats-server.conf (one server, the dev overlay) and
// k8s/overlays/prod/nats/nats-server.conf (the three-server JetStream cluster). Run it after changing the matrix:
// `pnpm --filter @wxmp/infra render-nats-config`; infra/test/nats.test.ts fails while a file is stale.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { NATS_IDENTITIES, renderServerConfig, type NatsIdentity } from '@wxmp/nats'

export const NATS_CONFIG_FILE = fileURLToPath(new URL('../k8s/base/nats/nats-server.conf', import.meta.url))
export const NATS_CLUSTER_CONFIG_FILE = fileURLToPath(new URL('../k8s/overlays/prod/nats/nats-server.conf', import.meta.url))

/** Where the NATS pod mounts its TLS Secret (nats-tls: tls.crt, tls.key, ca.crt). */
export const NATS_TLS_MOUNT = '/etc/nats/tls'
/** Where the clustered NATS pods mount the route certificate (nats-cluster-tls: tls.crt, tls.key, ca.crt). */
export const NATS_CLUSTER_TLS_MOUNT = '/etc/nats/cluster-tls'
/** The StatefulSet's headless Service: each pod is `nats-<i>.nats-headless` to the others. */
export const NATS_HEADLESS_SERVICE = 'nats-headless'
/** Servers of the production cluster: the smallest JetStream cluster that keeps a quorum after losing one. */
export const NATS_CLUSTER_SIZE = 3
export const NATS_CLUSTER_PORT = 6222

/** The environment variable that carries an identity's public nkey into the server (from the nats-users Secret). */
export const nkeyVariable = (id: NatsIdentity): string => `NATS_NKEY_${id.toUpperCase()}`

/** The route URLs of a cluster of `size` StatefulSet pods (every node lists all, itself included, as NATS allows). */
export const clusterRoutes = (size: number): string[] =>
  Array.from({ length: size }, (_v, i) => `nats-route://nats-${i}.${NATS_HEADLESS_SERVICE}:${NATS_CLUSTER_PORT}`)

/** The server's config in the cluster: production subjects (no prefix), TLS, JetStream on the data volume. */
export function kubernetesNatsConfig (opts: { clusterSize?: number } = {}): string {
  const size = opts.clusterSize ?? 1
  return renderServerConfig({
    prefix: '',
    nkeys: Object.fromEntries(NATS_IDENTITIES.map((id) => [id, '$' + nkeyVariable(id)])) as Record<NatsIdentity, string>,
    serverName: '$POD_NAME',
    listen: '0.0.0.0:4222',
    httpPort: 8222,
    storeDir: '/data/jetstream',
    tls: { certFile: `${NATS_TLS_MOUNT}/tls.crt`, keyFile: `${NATS_TLS_MOUNT}/tls.key`, caFile: `${NATS_TLS_MOUNT}/ca.crt` },
    ...(size > 1
      ? {
          cluster: {
            name: 'wxmp',
            listen: `0.0.0.0:${NATS_CLUSTER_PORT}`,
            routes: clusterRoutes(size),
            tls: { certFile: `${NATS_CLUSTER_TLS_MOUNT}/tls.crt`, keyFile: `${NATS_CLUSTER_TLS_MOUNT}/tls.key`, caFile: `${NATS_CLUSTER_TLS_MOUNT}/ca.crt` },
            noAdvertise: true
          }
        }
      : {})
  })
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [file, text] of [[NATS_CONFIG_FILE, kubernetesNatsConfig()], [NATS_CLUSTER_CONFIG_FILE, kubernetesNatsConfig({ clusterSize: NATS_CLUSTER_SIZE })]] as const) {
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, text)
    console.log(`render-nats-config: wrote ${file}`)
  }
}
