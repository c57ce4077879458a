import https from 'node:https'
import http from 'node:http'
import { tlsFiles } from './gateway.js'

export interface Res { status: number, headers: http.IncomingHttpHeaders, body: string, json: () => any }

export interface CallOptions {
  method?: string
  headers?: Record<string, string>
  body?: string | Buffer
  /** A fresh TLS connection (no keep-alive agent) and any TLS options. */
  tls?: https.RequestOptions
}

const agents = new Map<string, https.Agent>()

/** One HTTPS request through a real TLS connection that trusts the test certificate. */
export async function call (url: string, opts: CallOptions = {}): Promise<Res> {
  const { certPem } = await tlsFiles()
  const mod = url.startsWith('https') ? https : http
  let agent = agents.get(certPem)
  if (agent === undefined) { agent = new https.Agent({ keepAlive: false, ca: certPem }); agents.set(certPem, agent) }
  return await new Promise((resolve, reject) => {
    const req = mod.request(url, {
      method: opts.method ?? 'GET',
      headers: { ...(opts.body !== undefined && opts.headers?.['content-type'] === undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
      ...(url.startsWith('https') ? { ca: certPem, agent: opts.tls === undefined ? agent : undefined, ...opts.tls } : {})
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8')
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) })
      })
    })
    req.on('error', reject)
    if (opts.body !== undefined) req.write(opts.body)
    req.end()
  })
}

export { eventually } from '@wxmp/testing'
