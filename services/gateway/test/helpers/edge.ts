import type { FastifyInstance, FastifyRequest } from 'fastify'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { natsPrefix, type Teardown } from '@wxmp/testing'
import { EDGE_ROUTES, type EdgeTable } from '../../src/edge-routes.js'
import { buildGateway, type Gateway, type GatewayExtras } from './gateway.js'
import { call, eventually } from './client.js'
import { jwksResponder, testKey, type JwksResponder, type TestKey } from './tokens.js'

/** What the test service saw of one NATS request. */
export interface Seen { userId: string | null, sessionId: string | null, traceparent: string | null, tracestate: string | null, requestId: string | null, role: string | null, authTime: string | null, amr: string | null }

/** Test routes in each auth mode, all calling `test.whoami` over NATS. */
async function testRoutes (app: FastifyInstance): Promise<void> {
  const handler = async (request: FastifyRequest): Promise<unknown> => (await request.callService('test.whoami', {})).data
  app.get('/v1/test/whoami', handler)
  app.get('/v1/test/maybe', handler)
  app.get('/v1/test/open', handler)
  app.get('/v1/test/slow', async (request) => (await request.callService('test.slow', {})).data)
  app.post('/v1/test/echo', async (request) => (await request.callService('test.echo', request.body)).data)
  app.get('/v1/test/staff', handler)
  app.get('/v1/test/admin', handler)
  app.post('/v1/test/money', handler)
  app.post('/v1/test/credentials', handler)
  app.post('/v1/test/maybe-credentials', handler)
}

/** The test routes' edge policy: echo stands in for a login route (stricter limit, small body), slow has its own timeout. */
export const TEST_EDGE_ROUTES: EdgeTable = {
  ...EDGE_ROUTES,
  'GET /v1/test/whoami': { auth: 'required', limit: 'default' },
  'GET /v1/test/maybe': { auth: 'optional', limit: 'default' },
  'GET /v1/test/open': { auth: 'public', limit: 'default' },
  'GET /v1/test/slow': { auth: 'public', limit: 'default', timeoutMs: 300 },
  'POST /v1/test/echo': { auth: 'public', limit: 'login', bodyLimit: 1024 },
  'GET /v1/test/staff': { auth: 'required', limit: 'default', role: 'staff' },
  'GET /v1/test/admin': { auth: 'required', limit: 'default', role: 'admin' },
  'POST /v1/test/money': { auth: 'required', limit: 'default', role: 'staff', stepUp: 'money' },
  'POST /v1/test/credentials': { auth: 'required', limit: 'default', stepUp: 'credentials' },
  'POST /v1/test/maybe-credentials': { auth: 'optional', limit: 'default', stepUp: 'credentials' }
}

export interface Edge {
  prefix: string
  gw: Gateway
  base: string
  key: TestKey
  jwks: JwksResponder
  nc: NatsConnection
  /** Requests the test service answered. */
  seen: Seen[]
}

/** Answers `test.whoami` with the identity and trace headers it received. */
export async function whoamiResponder (t: Teardown, prefix: string, seen: Seen[] = []): Promise<NatsConnection> {
  const nc = await connect({ servers: 'nats://127.0.0.1:4222' })
  t.teardown(async () => { await nc.close() })
  nc.subscribe(`${prefix}test.whoami`, {
    callback: (_err, msg) => {
      const h = (k: string): string | null => msg.headers?.get(k) || null
      const s: Seen = { userId: h('x-user-id'), sessionId: h('x-session-id'), traceparent: h('traceparent'), tracestate: h('tracestate'), requestId: h('x-request-id'), role: h('x-user-role'), authTime: h('x-auth-time'), amr: h('x-auth-amr') }
      seen.push(s)
      msg.respond(JSON.stringify(s))
    }
  })
  nc.subscribe(`${prefix}test.echo`, { callback: (_err, msg) => { msg.respond(msg.data) } })
  // Answers after 1 s: later than the slow route's 300 ms timeout, sooner than the default.
  nc.subscribe(`${prefix}test.slow`, { callback: (_err, msg) => { setTimeout(() => msg.respond('{"slow":true}'), 1000) } })
  await nc.flush()
  return nc
}

/** A gateway on real TLS, Redis and NATS with an `auth.jwks` responder and the test routes, ready to verify tokens. */
export async function buildEdge (t: Teardown, env: Record<string, string> = {}, opts: { jwks?: boolean, extras?: GatewayExtras } = {}): Promise<Edge> {
  const prefix = natsPrefix()
  const key = await testKey()
  const jwks = opts.jwks === false ? { nc: undefined as never, keys: [key], fetches: 0 } : await jwksResponder(t, prefix, [key])
  const seen: Seen[] = []
  const nc = await whoamiResponder(t, prefix, seen)
  // The test routes call `test.*` subjects, which are not in the permission matrix: this gateway and its
  // stand-ins use the shared server without authorization.
  const anonymous = { NATS_URL: 'nats://127.0.0.1:4222', NATS_NKEY_SEED_FILE: '', NATS_ALLOW_ANONYMOUS: 'true' }
  const gw = await buildGateway(t, prefix, { ...anonymous, ...env }, true, { routes: [testRoutes], edgeRoutes: TEST_EDGE_ROUTES, ...opts.extras })
  const base = await gw.listen()
  if (opts.jwks !== false) {
    await eventually(async () => gw.app.edgeAuth.keyring.ready && gw.app.edgeAuth.revocations.ready, Boolean)
  }
  return { prefix, gw, base, key, jwks, nc, seen }
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

export { call, eventually }
