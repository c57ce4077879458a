import http from 'node:http'
import https from 'node:https'

/** What came back from an HTTP call, with the body as the exact bytes received. */
export interface RawResponse {
  status: number
  headers: Headers
  body: Buffer
}

/** A call that produced no HTTP response: it timed out, or the connection failed. */
export class TransportError extends Error {
  readonly kind: 'timeout' | 'network'
  constructor (kind: 'timeout' | 'network', cause: unknown) {
    super(kind === 'timeout' ? 'request timed out' : `connection failed: ${describe(cause)}`)
    this.name = 'TransportError'
    this.kind = kind
  }
}

function describe (err: unknown): string {
  const e = err as { code?: string, cause?: { code?: string, message?: string }, message?: string }
  return e.code ?? e.cause?.code ?? e.cause?.message ?? e.message ?? String(err)
}

export interface SendOptions {
  method: string
  headers?: Record<string, string>
  body?: string
  timeoutMs: number
}

// Kept-alive connections to WeChat's hosts: a TLS handshake per call would cost more than the call. node:http
// with an agent costs about a third of the CPU per call of the global fetch here, and logins and orders make one
// or more calls each.
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 128 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 128 })
}

function toHeaders (raw: http.IncomingHttpHeaders): Headers {
  const h = new Headers()
  for (const [k, v] of Object.entries(raw)) {
    if (Array.isArray(v)) for (const item of v) h.append(k, item)
    else if (v !== undefined) h.set(k, v)
  }
  return h
}

/** One HTTP exchange; the whole exchange, body included, shares one deadline. */
export async function send (url: string, opts: SendOptions): Promise<RawResponse> {
  const target = new URL(url)
  const mod = target.protocol === 'https:' ? https : http
  return await new Promise<RawResponse>((resolve, reject) => {
    let settled = false
    const fail = (kind: 'timeout' | 'network', cause: unknown): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      reject(new TransportError(kind, cause))
    }
    const req = mod.request(target, {
      method: opts.method,
      headers: { ...opts.headers, ...(opts.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(opts.body)) }) },
      agent: agents[target.protocol as 'http:' | 'https:']
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', (err) => fail('network', err))
      res.on('end', () => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve({ status: res.statusCode ?? 0, headers: toHeaders(res.headers), body: Buffer.concat(chunks) })
      })
    })
    const timer = setTimeout(() => { fail('timeout', new Error('deadline')); req.destroy() }, opts.timeoutMs)
    req.on('error', (err) => fail('network', err))
    req.end(opts.body)
  })
}

/** Exponential backoff with full jitter, so retrying replicas do not hit WeChat in step. */
export function backoffMs (attempt: number, baseMs: number, capMs = 5000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt)
  return Math.round(ceiling / 2 + Math.random() * ceiling / 2)
}

export const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** Parses a JSON object body; undefined when it is not one. */
export function parseJsonObject (body: Buffer | string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'))
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}
