import t from 'tap'
import tls from 'node:tls'
import { buildEdge } from './helpers/edge.js'
import { tlsFiles } from './helpers/gateway.js'

/** Writes exact bytes over TLS (what an HTTP client library refuses to send) and returns the raw answer. */
async function raw (base: string, bytes: Buffer | string): Promise<{ status: number, body: unknown }> {
  const { certPem } = await tlsFiles()
  const url = new URL(base)
  return await new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = tls.connect({ host: '127.0.0.1', port: Number(url.port), servername: 'localhost', ca: certPem }, () => { socket.write(bytes) })
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', reject)
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1])
      const body = text.slice(text.indexOf('\r\n\r\n') + 4)
      let parsed: unknown
      try { parsed = JSON.parse(body) } catch { parsed = body }
      resolve({ status, body: parsed })
    })
  })
}

const ENVELOPE = { error: { code: String, message: String, traceId: /^[0-9a-f]{32}$/ } }

// Regression (found by the chaos suite's bad-input corpus): requests that Node's parser or Fastify's router refused
// before any hook ran were answered with Fastify's default body, {"error":"Bad Request","message":"Client Error"},
// and an error on the notify route before its handler (a body over the limit) was serialized to `{}` by the route's
// closed 4xx schema. Every error a client sees must be the envelope.
t.test('requests refused by the HTTP parser or the router still get the error envelope', async (t) => {
  const edge = await buildEdge(t)
  const cases: Array<[string, string | Buffer, number, string]> = [
    ['NUL in a header value', 'GET /v1/ping HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: a\u0000b\r\nConnection: close\r\n\r\n', 400, 'BAD_REQUEST'],
    ['a bare LF inside a header', 'GET /v1/ping HTTP/1.1\r\nHost: localhost\r\nX-A: a\nX-B: b\r\nConnection: close\r\n\r\n', 400, 'BAD_REQUEST'],
    ['an unknown method', 'FOO /v1/ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', 400, 'BAD_REQUEST'],
    ['Transfer-Encoding beside Content-Length', 'POST /v1/test/echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n', 400, 'BAD_REQUEST'],
    ['a 20 kB header', `GET /v1/ping HTTP/1.1\r\nHost: localhost\r\nX-Pad: ${'p'.repeat(20_000)}\r\nConnection: close\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
    ['a path parameter over the router\'s limit', `GET /v1/payments/orders/${'a'.repeat(5000)} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`, 414, 'URI_TOO_LONG']
  ]
  for (const [name, bytes, status, code] of cases) {
    const res = await raw(edge.base, bytes)
    t.equal(res.status, status, `${name}: ${status}`)
    t.match(res.body, ENVELOPE, `${name}: the envelope`)
    t.equal((res.body as { error?: { code?: string } }).error?.code, code, `${name}: ${code}`)
  }
})

t.test('an error on the WeChat Pay notify route before its handler is the envelope, not an empty object', async (t) => {
  const edge = await buildEdge(t)
  const body = JSON.stringify({ pad: 'x'.repeat(70_000) })
  const res = await raw(edge.base, `POST /v1/payments/wechat/notify HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  t.equal(res.status, 413)
  t.match(res.body, ENVELOPE)
})
