import t from 'tap'
import fp from 'fastify-plugin'
import { createFastify, loadConfig } from '@wxmp/core'
import { LogCollector, natsPrefix, redisPrefix, testNatsEnv } from '@wxmp/testing'
import gatewayApp from '../src/app.js'
import { ConfigSchema } from '../src/config.js'
import { EDGE_ROUTES, type EdgeTable } from '../src/edge-routes.js'
import { tlsFiles } from './helpers/gateway.js'
import { bearer, buildEdge, call } from './helpers/edge.js'
import { accessToken, identity } from './helpers/tokens.js'

/** Boots the gateway app as server.ts does (up to ready) and resolves to the error that stopped it, if any. */
async function bootError (table: EdgeTable, env: Record<string, string> = {}): Promise<Error | undefined> {
  const tls = await tlsFiles()
  const config = loadConfig(ConfigSchema, {
    NATS_SUBJECT_PREFIX: natsPrefix(),
    REDIS_KEY_PREFIX: redisPrefix(),
    TLS_CERT_FILE: tls.cert,
    TLS_KEY_FILE: tls.key,
    ...await testNatsEnv('gateway'),
    ...env
  })
  const app = createFastify({ service: 'gateway', level: 'fatal', stream: new LogCollector() })
  try {
    await app.register(fp(gatewayApp), { config, edgeRoutes: table })
    await app.ready()
    return undefined
  } catch (err) {
    return err as Error
  } finally {
    await app.close()
  }
}

const without = (key: string): EdgeTable => Object.fromEntries(Object.entries(EDGE_ROUTES).filter(([k]) => k !== key))

t.test('the gateway boots with its own edge table', async (t) => {
  t.equal(await bootError(EDGE_ROUTES), undefined)
})

t.test('a misspelled edge table key stops the boot, naming the key', async (t) => {
  const { 'POST /v1/auth/wechat/login': login, ...rest } = EDGE_ROUTES
  // The key the login route was meant to have, misspelled, and the route still covered: only the typo is wrong.
  const err = await bootError({ ...rest, 'POST /v1/auth/wechat/login': login, 'POST /v1/auth/wechat/logn': login })
  t.ok(err, 'boot refused')
  t.match(err?.message, /'POST \/v1\/auth\/wechat\/logn' matches no registered route/)
})

t.test('a registered route without an entry stops the boot, naming the route', async (t) => {
  const err = await bootError(without('POST /v1/auth/wechat/login'))
  t.ok(err, 'boot refused')
  t.match(err?.message, /Route POST \/v1\/auth\/wechat\/login has no entry in the edge table/)

  const typo = await bootError({ ...without('POST /v1/auth/wechat/login'), 'POST /v1/auth/wechat/logn': EDGE_ROUTES['POST /v1/auth/wechat/login'] })
  t.match(typo?.message, /POST \/v1\/auth\/wechat\/login/, 'a typo that leaves a route uncovered names that route')
})

t.test('an entry the edge cannot apply stops the boot', async (t) => {
  const err = await bootError({ ...EDGE_ROUTES, 'GET /healthz': { auth: 'required', limit: 'default' } })
  t.match(err?.message, /GET \/healthz is registered before the edge policy/)
})

t.test('ROUTE_TIMEOUTS_MS naming no route stops the boot, naming it', async (t) => {
  const err = await bootError(EDGE_ROUTES, { ROUTE_TIMEOUTS_MS: 'POST /v1/payments/order=8000' })
  t.match(err?.message, /ROUTE_TIMEOUTS_MS names 'POST \/v1\/payments\/order'/)
  t.equal(await bootError(EDGE_ROUTES, { ROUTE_TIMEOUTS_MS: 'POST /v1/payments/orders=8000' }), undefined, 'a real route is accepted')
})

t.test('auth modes follow the table, and HEAD follows its GET', async (t) => {
  const edge = await buildEdge(t)
  const body = '{"username":"someone","password":"long enough password"}'
  t.equal((await call(`${edge.base}/v1/auth/password/login`, { method: 'POST', body })).status, 503, 'optional: no token goes on to the service (down here)')
  t.equal((await call(`${edge.base}/v1/auth/password/login`, { method: 'POST', body, headers: bearer('a.b.c') })).status, 401, 'optional: a bad token is refused')
  t.equal((await call(`${edge.base}/v1/users/me`, { method: 'HEAD' })).status, 401, 'HEAD of a required GET needs a token')
  const head = await call(`${edge.base}/v1/payments/products`, { method: 'HEAD' })
  t.equal(Number(head.headers['ratelimit-limit']), 300, 'HEAD of a public GET counts in its class')
})

t.test('the WeChat login route is limited to 10 requests per minute per address, the default routes to 300', async (t) => {
  const edge = await buildEdge(t)
  const login = await call(`${edge.base}/v1/auth/wechat/login`, { method: 'POST', body: '{"code":"0a1b2c"}' })
  t.equal(Number(login.headers['ratelimit-limit']), 10)
  const products = await call(`${edge.base}/v1/payments/products`)
  t.equal(Number(products.headers['ratelimit-limit']), 300)
  const refresh = await call(`${edge.base}/v1/auth/refresh`, { method: 'POST', body: '{"refreshToken":"x"}' })
  t.equal(Number(refresh.headers['ratelimit-limit']), 30)
  const token = await accessToken(edge.key, identity())
  const phone = await call(`${edge.base}/v1/auth/wechat/phone`, { method: 'POST', body: '{"code":"0a1b2c"}', headers: bearer(token) })
  t.equal(Number(phone.headers['ratelimit-limit']), 5)
  const me = await call(`${edge.base}/v1/users/me`)
  t.equal(me.status, 401, 'a required route refuses a request without a token')
  const big = await call(`${edge.base}/v1/auth/wechat/login`, { method: 'POST', body: JSON.stringify({ code: 'x'.repeat(5000) }) })
  t.equal(big.status, 413, 'the login body limit (4 KiB) applies')
})
