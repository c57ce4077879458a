// `pnpm --filter @wxmp/nats provision` (after a build), and the nats-provision Job of infra/k8s: connects as the
// provisioner identity and makes EVENTS and the revocation bucket match NATS_JS_REPLICAS (provision.ts). Exits 0
// when every stream has its copies, 1 otherwise, with one line naming what failed.
import { hostname } from 'node:os'
import { Type } from '@sinclair/typebox'
import { baseConfigProperties, createLogger, loadConfig } from '@wxmp/core'
import { connectNats } from './connection.js'
import { inboxPrefix } from './permissions.js'
import { provisionJetStream } from './provision.js'

const { LOG_LEVEL, LOG_PRETTY, NATS_URL, NATS_SUBJECT_PREFIX, NATS_TLS_CA_FILE, NATS_JS_REPLICAS } = baseConfigProperties
const schema = Type.Object({
  LOG_LEVEL,
  LOG_PRETTY,
  NATS_URL,
  NATS_SUBJECT_PREFIX,
  NATS_TLS_CA_FILE,
  NATS_JS_REPLICAS,
  // No anonymous mode: only the provisioner identity may raise a stream, so without its seed there is nothing to do.
  NATS_NKEY_SEED_FILE: Type.String({ minLength: 1, description: 'File with the provisioner identity\'s nkey seed.' }),
  PROVISION_TIMEOUT_MS: Type.Integer({ default: 120_000, minimum: 1000, description: 'How long to wait for a forming cluster.' })
})

const log = createLogger({ service: 'nats-provision', level: process.env.LOG_LEVEL ?? 'info' })
try {
  const config = loadConfig(schema)
  const { nc } = await connectNats({
    servers: config.NATS_URL,
    name: `nats-provision@${hostname()}:${process.pid}`,
    log,
    nkeySeedFile: config.NATS_NKEY_SEED_FILE,
    inboxPrefix: inboxPrefix('provisioner', config.NATS_SUBJECT_PREFIX),
    ...(config.NATS_TLS_CA_FILE === '' ? {} : { tlsCaFile: config.NATS_TLS_CA_FILE })
  })
  try {
    const streams = await provisionJetStream(nc, { prefix: config.NATS_SUBJECT_PREFIX, replicas: config.NATS_JS_REPLICAS, log, timeoutMs: config.PROVISION_TIMEOUT_MS })
    log.info({ streams }, 'JetStream provisioned')
  } finally {
    await nc.drain()
  }
} catch (err) {
  log.error({ err: { name: (err as Error).name, message: (err as Error).message } }, 'provisioning failed')
  process.exitCode = 1
}
