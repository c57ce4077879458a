import t from 'tap'
import http2 from 'node:http2'
import { bearer, buildEdge, call } from './helpers/edge.js'
import { tlsFiles } from './helpers/gateway.js'

const HELMET = {
  'strict-transport-security': /^max-age=31536000; includeSubDomains$/,
  'x-content-type-options': /^nosniff$/,
  'x-frame-options': /^DENY$/,
  'content-security-policy': /default-src 'none'.*frame-ancestors 'none'/,
  'referrer-policy': /^no-referrer$/,
  'cross-origin-resource-policy': /^same-origin$/,
  'x-dns-prefetch-control': /^off$/,
  'x-permitted-cross-domain-policies': /^none$/
}

t.test('every HTTPS response carries HSTS and the JSON-API security headers, errors and probes included', async (t) => {
  const edge = await buildEdge(t)
  for (const [path, status, headers] of [
    ['/v1/test/open', 200, {}],
    ['/healthz', 200, {}],
    ['/readyz', 200, {}],
    ['/v1/test/whoami', 401, {}],
    ['/v1/nothing-here', 404, {}],
    ['/v1/test/whoami', 401, bearer('a.b.c')]
  ] as const) {
    const res = await call(`${edge.base}${path}`, { headers })
    t.equal(res.status, status, path)
    for (const [name, pattern] of Object.entries(HELMET)) t.match(res.headers[name], pattern, `${path} ${status}: ${name}`)
    t.notOk(res.headers['x-powered-by'], `${path}: no x-powered-by`)
  }
})

t.test('X-Forwarded-For and -Proto are believed only from the configured proxies', async (t) => {
  const trusted = await buildEdge(t, { TRUST_PROXY: '127.0.0.1/32, ::1', RATE_LIMIT_DEFAULT_MAX: '1' })
  const a = await call(`${trusted.base}/v1/test/open`, { headers: { 'x-forwarded-for': '203.0.113.7' } })
  const b = await call(`${trusted.base}/v1/test/open`, { headers: { 'x-forwarded-for': '203.0.113.8' } })
  const a2 = await call(`${trusted.base}/v1/test/open`, { headers: { 'x-forwarded-for': '203.0.113.7' } })
  t.same([a.status, b.status, a2.status], [200, 200, 429], 'behind a trusted proxy each client address has its own limit')
  const viaHttp = await call(`${trusted.base}/v1/test/open?x=1`, { headers: { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'http', host: 'api.example.com' }, tls: { servername: 'localhost' } })
  t.equal(viaHttp.status, 301, 'a request the proxy got over plain HTTP is sent to HTTPS')
  t.equal(viaHttp.headers.location, 'https://api.example.com:8443/v1/test/open?x=1')

  const untrusted = await buildEdge(t, { TRUST_PROXY: '10.0.0.0/8', RATE_LIMIT_DEFAULT_MAX: '1' })
  const c = await call(`${untrusted.base}/v1/test/open`, { headers: { 'x-forwarded-for': '203.0.113.7' } })
  const d = await call(`${untrusted.base}/v1/test/open`, { headers: { 'x-forwarded-for': '203.0.113.8' } })
  t.same([c.status, d.status], [200, 429], 'a client cannot dodge its limit by inventing X-Forwarded-For')
  const spoofed = await call(`${untrusted.base}/healthz`, { headers: { 'x-forwarded-proto': 'http' } })
  t.equal(spoofed.status, 200, 'X-Forwarded-Proto from an untrusted peer is ignored')
})

t.test('HTTP/2 is offered behind HTTP2=true, HTTP/1.1 still served', async (t) => {
  const edge = await buildEdge(t, { HTTP2: 'true' })
  const { certPem } = await tlsFiles()
  const session = http2.connect(edge.base, { ca: certPem })
  const { status, hsts } = await new Promise<{ status: number, hsts: unknown }>((resolve, reject) => {
    const req = session.request({ ':path': '/v1/test/open' })
    req.on('response', (h) => { resolve({ status: Number(h[':status']), hsts: h['strict-transport-security'] }) })
    req.on('error', reject)
    req.resume()
    req.end()
  })
  await new Promise<void>((resolve) => session.close(() => resolve()))
  t.equal(status, 200)
  t.match(hsts, /max-age/)
  t.equal((await call(`${edge.base}/v1/test/open`)).status, 200, 'HTTP/1.1 clients still work')
})
