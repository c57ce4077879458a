import t from 'tap'
import Fastify from 'fastify'
import { Contracts } from '@wxmp/contracts'
import { health } from '@wxmp/core'
import { endpoint, nats, type NatsPluginOptions } from '../src/index.js'
import type { Teardown } from '@wxmp/testing'
import { matrixServer } from './helpers/matrix-server.js'

async function app (t: Teardown, opts: NatsPluginOptions) {
  const a = Fastify({ logger: false })
  t.teardown(async () => { await a.close() })
  await a.register(health)
  await a.register(nats, opts)
  return a
}

t.test('services connect with their seed file and call each other under the matrix', async (t) => {
  const { server, prefix, seedFile } = await matrixServer(t)
  const common = { servers: server.url, prefix, requestTimeoutMs: 5000 }
  const auth = await app(t, { ...common, connectionName: 'auth-test', service: { name: 'auth', version: '1.0.0' }, nkeySeedFile: seedFile('auth') })
  auth.natsServe(endpoint(Contracts.auth.ping, async () => ({ name: 'auth', version: '1.0.0' })))
  await auth.ready()
  const gateway = await app(t, { ...common, connectionName: 'gateway-test', identity: 'gateway', nkeySeedFile: seedFile('gateway') })
  await gateway.ready()
  const { data } = await gateway.natsClient.request(Contracts.auth.ping, {}, undefined)
  t.equal(data.name, 'auth', 'the gateway\'s request, replied to its own inbox, comes back')
  await t.rejects(app(t, { ...common, connectionName: 'anonymous-test', allowAnonymous: true }), /Authorization Violation/, 'without a seed file the server refuses the process')
})

t.test('without a seed file a process refuses to start, naming the variable, unless anonymous is allowed', async (t) => {
  const { server, prefix } = await matrixServer(t)
  const common = { servers: server.url, prefix, requestTimeoutMs: 5000, connectionName: 'no-credentials-test' }
  await t.rejects(app(t, common), { name: 'ConfigError', message: /NATS_NKEY_SEED_FILE is required.*NATS_ALLOW_ANONYMOUS=true/ })
  await t.rejects(app(t, { ...common, nkeySeedFile: '' }), { name: 'ConfigError', message: /NATS_NKEY_SEED_FILE/ }, 'an empty setting is no setting')
})
