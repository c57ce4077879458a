import t from 'tap'
import https from 'node:https'
import { randomBytes } from 'node:crypto'
import { freePort, natsPrefix, redisPrefix, testDatabase } from '@wxmp/testing'
import { simulatorEnv, simulatorKeys } from '@wxmp/wechat-sim/testing'
import { authEnv, paymentEnv, tlsFiles } from './helpers/stack.js'
import { startProcess, type ServiceProcess } from './helpers/processes.js'

function get (url: string, ca: string, headers: Record<string, string> = {}): Promise<{ status: number, traceparent?: string }> {
  return new Promise((resolve) => {
    const req = https.get(url, { ca, agent: false, headers }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, traceparent: res.headers.traceparent as string | undefined }))
    })
    req.on('error', () => resolve({ status: 0 }))
  })
}

/** The JSON lines a process wrote to stdout (stderr is mixed in by the helper; anything not JSON is skipped). */
function jsonLines (p: ServiceProcess): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = []
  for (const line of p.output.join('').split('\n')) {
    if (!line.startsWith('{')) continue
    try { out.push(JSON.parse(line)) } catch { /* a line still being written */ }
  }
  return out
}

t.test('one request\'s trace id reaches the stdout of the gateway and of every service within a second (the gateway\'s line waited for 8 KiB of others)', async (t) => {
  const prefix = natsPrefix()
  const tls = await tlsFiles()
  const keys = await simulatorKeys()
  const sim = await startProcess(t, 'wechat-sim', simulatorEnv(keys, { HOST: '127.0.0.1', LOG_LEVEL: 'info' }))
  const simUrl = `http://127.0.0.1:${sim.port}`
  const wechat = { WECHAT_APPID: keys.appid, WECHAT_SECRET: keys.secret, WECHAT_API_BASE_URL: simUrl }
  const wechatPay = {
    ...wechat,
    WECHATPAY_API_BASE_URL: simUrl,
    WECHATPAY_MCHID: keys.mchid,
    WECHATPAY_MERCHANT_SERIAL_NO: keys.merchantSerialNo,
    WECHATPAY_MERCHANT_PRIVATE_KEY_FILE: keys.files.merchantPrivateKey,
    WECHATPAY_APIV3_KEY_FILE: keys.files.apiV3Key,
    WECHATPAY_PUBLIC_KEYS: `${keys.wechatpayPublicKeyId}=${keys.files.wechatpayPublicKey}`
  }
  // The services log their NATS handling at debug; the gateway logs each request at info, its production level.
  const shared = { NATS_SUBJECT_PREFIX: prefix, DATABASE_CREATE: 'false', HOST: '127.0.0.1', LOG_LEVEL: 'debug' }
  const services = await Promise.all([
    startProcess(t, 'auth', { ...shared, ...authEnv(), ...wechat, DATABASE_URL: await testDatabase(t, 'trace_auth'), REDIS_KEY_PREFIX: redisPrefix() }),
    startProcess(t, 'user', { ...shared, DATABASE_URL: await testDatabase(t, 'trace_user') }),
    startProcess(t, 'payment', { ...shared, ...paymentEnv(), ...wechatPay, DATABASE_URL: await testDatabase(t, 'trace_pay'), REDIS_KEY_PREFIX: redisPrefix() })
  ])
  const [httpsPort, httpPort] = [await freePort(), await freePort()]
  const gateway = await startProcess(t, 'gateway', {
    NATS_SUBJECT_PREFIX: prefix,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    REDIS_KEY_PREFIX: redisPrefix(),
    TLS_CERT_FILE: tls.cert,
    TLS_KEY_FILE: tls.key,
    HTTPS_PORT: String(httpsPort),
    HTTP_PORT: String(httpPort)
  }, [httpsPort, httpPort])
  const base = `https://localhost:${httpsPort}`
  // Until the gateway answers through every service.
  const upBy = Date.now() + 60000
  while ((await get(`${base}/v1/ping`, tls.certPem)).status !== 200) {
    if (Date.now() > upBy) throw new Error('the stack did not answer /v1/ping within 60 s')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }

  const traceId = randomBytes(16).toString('hex')
  const res = await get(`${base}/v1/ping`, tls.certPem, { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` })
  t.equal(res.status, 200)
  t.match(res.traceparent, new RegExp(`^00-${traceId}-`), 'the trace is continued')

  const processes = [gateway, ...services]
  const traced = (p: ServiceProcess): Array<Record<string, unknown>> => jsonLines(p).filter((l) => l.trace_id === traceId)
  const deadline = Date.now() + 1000
  while (processes.some((p) => traced(p).length === 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  for (const p of processes) {
    const lines = traced(p)
    t.ok(lines.length > 0, `${p.name} wrote a line with the trace id to stdout within a second`)
    for (const l of lines) t.equal(l.service, p.name)
  }
  t.equal(sim.child.exitCode, null, 'the WeChat simulator the stack calls is up (WeChat gets no trace context of ours)')
})
