import t from 'tap'
import https from 'node:https'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { buildStack, tlsFiles } from './helpers/stack.js'
import { redirectApp } from '../src/redirect.js'
import { createLogger } from '@wxmp/core'

interface Res { status: number, headers: http.IncomingHttpHeaders, body: string }

function get (url: string, opts: https.RequestOptions = {}): Promise<Res> {
  const mod = url.startsWith('https') ? https : http
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method: 'GET', ...opts }, (res) => {
      let body = ''
      res.on('data', (c) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('/v1/ping over a real TLS connection, trace id preserved', async (t) => {
  const stack = await buildStack(t, { https: true })
  await stack.gateway.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = stack.gateway.app.server.address() as AddressInfo
  const { certPem } = await tlsFiles()
  const res = await get(`https://localhost:${port}/v1/ping`, {
    ca: certPem,
    headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }
  })
  t.equal(res.status, 200)
  t.match(res.headers.traceparent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/)
  t.equal(JSON.parse(res.body).payment.name, 'payment')
})

t.test('TLS below 1.2 is refused', async (t) => {
  const stack = await buildStack(t, { https: true })
  await stack.gateway.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = stack.gateway.app.server.address() as AddressInfo
  await t.rejects(get(`https://localhost:${port}/healthz`, { rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }))
})

t.test('plain HTTP answers 301 to the same path on HTTPS, and /healthz for probes', async (t) => {
  const app = redirectApp({ httpsPort: 8443, logger: createLogger({ service: 'gateway', level: 'silent' }) })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const res = await get(`http://127.0.0.1:${port}/v1/ping?x=1`, { headers: { host: 'localhost:8080' } })
  t.equal(res.status, 301)
  t.equal(res.headers.location, 'https://localhost:8443/v1/ping?x=1')
  const probe = await get(`http://127.0.0.1:${port}/healthz`)
  t.equal(probe.status, 200)
  const evil = await get(`http://127.0.0.1:${port}/`, { headers: { host: 'evil.com/x?' } })
  t.equal(evil.status, 400, 'a malformed Host is refused, not echoed into Location')

  const standard = redirectApp({ httpsPort: 443, logger: createLogger({ service: 'gateway', level: 'silent' }) })
  t.teardown(() => standard.close())
  const r443 = await standard.inject({ method: 'POST', url: '/v1/auth/refresh', headers: { host: 'api.example.com' } })
  t.equal(r443.headers.location, 'https://api.example.com/v1/auth/refresh', 'port 443 is left out')
})
