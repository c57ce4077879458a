import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createRevocationBucket } from '@wxmp/nats'
import { freePort, natsPrefix, redisPrefix, testNatsEnv, waitForPort } from '@wxmp/testing'
import { call, eventually } from './helpers/client.js'
import { tlsFiles } from './helpers/gateway.js'
import { testKey } from './helpers/tokens.js'
import { connectAs } from '@wxmp/service/testing'

const root = fileURLToPath(new URL('..', import.meta.url))

t.test('SIGTERM: readiness fails first, the in-flight request finishes, then the process exits cleanly', async (t) => {
  const prefix = natsPrefix()
  const tls = await tlsFiles()
  const [httpsPort, httpPort] = [await freePort(), await freePort()]

  // A slow upstream: /v1/ping waits on every service for 1.5 s.
  let received = 0
  for (const svc of ['auth', 'user', 'payment'] as const) {
    const nc = await connectAs(t, svc, prefix)
    nc.subscribe(`${prefix}${svc}.ping`, {
      callback: (_err, msg) => { received++; setTimeout(() => msg.respond(JSON.stringify({ name: svc, version: '1.0.0' })), 1500) }
    })
    await nc.flush()
    if (svc === 'auth') {
      // auth creates the revocation bucket, which the gateway only opens, and readiness waits for signing keys,
      // so the stand-in for auth does both as auth would.
      await createRevocationBucket(nc, prefix)
      const jwks = JSON.stringify({ keys: [(await testKey()).publicJwk] })
      nc.subscribe(`${prefix}auth.jwks`, { callback: (_err, msg) => { msg.respond(jwks) } })
      await nc.flush()
    }
  }

  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@wxmp/source', 'src/server.ts'], {
    cwd: root,
    env: {
      ...process.env,
      HTTPS_PORT: String(httpsPort),
      HTTP_PORT: String(httpPort),
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      TLS_CERT_FILE: tls.cert,
      TLS_KEY_FILE: tls.key,
      ...await testNatsEnv('gateway'),
      NATS_SUBJECT_PREFIX: prefix,
      REDIS_KEY_PREFIX: redisPrefix(),
      SHUTDOWN_DELAY_MS: '700',
      // The test polls the public /readyz every 20-25 ms, far faster than a load balancer.
      RATE_LIMIT_PROBE_MAX: '100000',
      LOG_LEVEL: 'info'
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (c) => { output += String(c) })
  child.stderr.on('data', (c) => { output += String(c) })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })

  await waitForPort(httpsPort, 30000)
  const base = `https://localhost:${httpsPort}`
  t.equal((await eventually(async () => await call(`${base}/readyz`), (r) => r.status === 200)).status, 200)

  const inFlight = call(`${base}/v1/ping`)
  await eventually(async () => received, (n) => n >= 3)
  child.kill('SIGTERM')

  const draining = await eventually(async () => await call(`${base}/readyz`), (r) => r.status === 503, { everyMs: 20 })
  t.equal(draining.status, 503, 'readiness fails while the load balancer catches up')
  t.equal(draining.json().status, 'draining')

  const res = await inFlight
  t.equal(res.status, 200, 'the request that was in flight gets its answer')
  t.equal(res.json().payment.name, 'payment')
  t.equal(await exited, 0, 'exits cleanly once drained')
  await t.rejects(call(`${base}/healthz`), 'no longer accepting connections')
  t.match(output, /shutting down/)
})
