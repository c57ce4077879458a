import t from 'tap'
import https from 'node:https'
import { eventually, freePort, natsPrefix, redisPrefix, testDatabase } from '@wxmp/testing'
import { authEnv, paymentEnv, tlsFiles } from './helpers/stack.js'
import { startProcess } from './helpers/processes.js'

interface Outcome { status?: number, error?: string, startedAt: number, endedAt: number }

function get (url: string, ca: string): Promise<Outcome> {
  const startedAt = performance.now()
  return new Promise((resolve) => {
    const req = https.get(url, { ca, agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, startedAt, endedAt: performance.now() }))
      res.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message, startedAt, endedAt: performance.now() }))
    })
    req.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message, startedAt, endedAt: performance.now() }))
  })
}

t.test('SIGTERM under a steady stream: readiness fails first, in-flight requests finish, exit 0 within the grace', async (t) => {
  const prefix = natsPrefix()
  const tls = await tlsFiles()
  const shared = { NATS_SUBJECT_PREFIX: prefix, DATABASE_CREATE: 'false' }
  await Promise.all([
    startProcess(t, 'auth', { ...shared, ...authEnv(), DATABASE_URL: await testDatabase(t, 'sig_auth'), REDIS_KEY_PREFIX: redisPrefix() }),
    startProcess(t, 'user', { ...shared, DATABASE_URL: await testDatabase(t, 'sig_user') }),
    startProcess(t, 'payment', { ...shared, ...paymentEnv(), DATABASE_URL: await testDatabase(t, 'sig_pay'), REDIS_KEY_PREFIX: redisPrefix() })
  ])
  const [httpsPort, httpPort] = [await freePort(), await freePort()]
  const gw = await startProcess(t, 'gateway', {
    ...shared,
    REDIS_KEY_PREFIX: redisPrefix(),
    TLS_CERT_FILE: tls.cert,
    TLS_KEY_FILE: tls.key,
    HTTPS_PORT: String(httpsPort),
    HTTP_PORT: String(httpPort),
    HOST: '127.0.0.1',
    SHUTDOWN_DELAY_MS: '700',
    SHUTDOWN_GRACE_MS: '8000',
    RATE_LIMIT_MAX_SCALE: '1000'
  }, [httpsPort, httpPort])
  const base = `https://localhost:${httpsPort}`
  // Wait until the gateway answers through every service.
  await eventually(async () => await get(`${base}/v1/ping`, tls.certPem), (r) => r.status === 200, { everyMs: 100 })

  // The test plays the load balancer too: it stops routing new requests to the instance as soon as its
  // readiness probe fails, as a Kubernetes Service does, while requests already sent run to completion.
  const outcomes: Outcome[] = []
  let stop = false
  let routable = true
  const loops = Array.from({ length: 8 }, async () => {
    // eslint-disable-next-line no-unmodified-loop-condition -- the probe and the test body change them while this awaits
    while (!stop && routable) outcomes.push(await get(`${base}/v1/ping`, tls.certPem))
  })
  const readiness: Array<{ at: number, status: number }> = []
  const probe = (async () => {
    // eslint-disable-next-line no-unmodified-loop-condition -- the test body sets it while this awaits
    while (!stop) {
      const r = await fetch(`http://127.0.0.1:${gw.port}/readyz`).then((res) => res.status).catch(() => 0)
      readiness.push({ at: performance.now(), status: r })
      if (r !== 200) routable = false
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })()
  // SIGTERM lands in the middle of a stream of at least 50 answered requests, however slow the machine is.
  await eventually(() => outcomes.length, (n) => n > 50, { timeoutMs: 60000, everyMs: 20 })
  const termAt = performance.now()
  gw.child.kill('SIGTERM')
  // A load balancer learns of the failed readiness only at its next probe: what it sends until then must still be
  // served (the gateway keeps its listeners for SHUTDOWN_DELAY_MS after failing readiness). Three such requests leave
  // at once, whatever the probe above happens to see first.
  const late = Array.from({ length: 3 }, async () => { outcomes.push(await get(`${base}/v1/ping`, tls.certPem)) })
  const exit = await gw.exited
  await Promise.all(late)
  const exitAt = performance.now()
  stop = true
  await Promise.all([...loops, probe])

  t.equal(exit.code, 0, 'the gateway exits 0')
  t.ok(exitAt - termAt < 8000, `within the grace period (${Math.round(exitAt - termAt)} ms)`)
  const notReady = readiness.find((r) => r.at > termAt && r.status === 503)
  t.ok(notReady !== undefined, 'readiness answered 503 after SIGTERM')
  const afterTerm = outcomes.filter((o) => o.startedAt > termAt)
  t.ok(afterTerm.length > 0, `requests sent after SIGTERM, before readiness failed, were served (${afterTerm.length})`)
  const beforeTerm = outcomes.filter((o) => o.startedAt < termAt)
  t.ok(beforeTerm.length > 50, `a steady stream ran (${beforeTerm.length} requests before SIGTERM)`)
  const failed = outcomes.filter((o) => o.status !== 200)
  t.same(failed.map((o) => o.status ?? o.error), [], 'every request sent was answered 200: none refused, reset or failed')
  t.comment(`${outcomes.length} requests, readiness 503 ${Math.round((notReady?.at ?? termAt) - termAt)} ms after SIGTERM, exit after ${Math.round(exitAt - termAt)} ms`)
})
