// Renders the nats-server config of the Kubernetes manifests from the permission matrix
// (packages/nats/src/permissions.ts) into k8s/base/nats/nats-server.conf. Run it after changing the matrix:
// `pnpm --filter @wxmp/infra render-nats-config`; infra/test/nats.test.ts fails while the file is stale.
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { NATS_IDENTITIES, renderServerConfig, type NatsIdentity } from '@wxmp/nats'

export const NATS_CONFIG_FILE = fileURLToPath(new URL('../k8s/base/nats/nats-server.conf', import.meta.url))

/** Where the NATS pod mounts its TLS Secret (nats-tls: tls.crt, tls.key, ca.crt). */
export const NATS_TLS_MOUNT = '/etc/nats/tls'

/** The environment variable that carries an identity's public nkey into the server (from the nats-users Secret). */
export const nkeyVariable = (id: NatsIdentity): string => `NATS_NKEY_${id.toUpperCase()}`

/** The server's config in the cluster: production subjects (no prefix), TLS, JetStream on the data volume. */
export function kubernetesNatsConfig (): string {
  return renderServerConfig({
    prefix: '',
    nkeys: Object.fromEntries(NATS_IDENTITIES.map((id) => [id, '$' + nkeyVariable(id)])) as Record<NatsIdentity, string>,
    serverName: '$POD_NAME',
    listen: '0.0.0.0:4222',
    httpPort: 8222,
    storeDir: '/data/jetstream',
    tls: { certFile: `${NATS_TLS_MOUNT}/tls.crt`, keyFile: `${NATS_TLS_MOUNT}/tls.key`, caFile: `${NATS_TLS_MOUNT}/ca.crt` }
  })
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(NATS_CONFIG_FILE, kubernetesNatsConfig())
  console.log(`render-nats-config: wrote ${NATS_CONFIG_FILE}`)
}
