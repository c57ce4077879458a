import https from 'node:https'
import type { TLSSocket } from 'node:tls'

/**
 * What became of one request to the public API. `accepted` is true once a TLS connection to the gateway was
 * established and the whole request written to it: from then on the gateway owes an answer. A request that failed
 * before that (connection refused, TLS handshake failed) was never accepted and may be retried blindly; one that
 * failed after it, or waited longer than the client's deadline, vanished: the books count it as lost.
 */
export interface Outcome {
  kind: string
  method: string
  path: string
  start: number
  end: number
  accepted: boolean
  status?: number
  /** Network-level failure: the error's code, or `TIMEOUT`. */
  error?: string
  /** For a status of 400 and up: whether the body is `{error: {code, message, traceId}}`. */
  envelope?: boolean
  /** The error envelope's code, when there is one. */
  code?: string
  body?: unknown
}

export interface Target {
  url: string
  ca: string
}

export interface RequestSpec {
  method: string
  path: string
  kind: string
  headers?: Record<string, string>
  body?: unknown
  /** Raw bytes sent as they are (no JSON encoding). */
  raw?: Buffer | string
  timeoutMs?: number
}

const agents = new WeakMap<object, https.Agent>()
const agentKey = new Map<string, object>()

function agentFor (t: Target): https.Agent {
  let k = agentKey.get(t.ca)
  if (k === undefined) { k = {}; agentKey.set(t.ca, k) }
  let a = agents.get(k)
  if (a === undefined) {
    // Kept-alive sockets are closed by the client well before the gateway's 65 s idle timeout, so a request is
    // never written into a socket the server is closing.
    a = new https.Agent({ keepAlive: true, maxSockets: 64, ca: t.ca, timeout: 20_000 })
    agents.set(k, a)
  }
  return a
}

const ENVELOPE_TRACE = /^[0-9a-f]{32}$/

/** Is this body the public error envelope? */
export function isEnvelope (body: unknown): boolean {
  if (body === null || typeof body !== 'object') return false
  const e = (body as { error?: unknown }).error
  if (e === null || typeof e !== 'object') return false
  const { code, message, traceId } = e as Record<string, unknown>
  return typeof code === 'string' && code !== '' && typeof message === 'string' && typeof traceId === 'string' && ENVELOPE_TRACE.test(traceId)
}

/** One request to the gateway over real TLS, recorded whatever happens. */
export async function request (target: Target, spec: RequestSpec): Promise<Outcome> {
  const url = new URL(spec.path, target.url)
  const payload = spec.raw ?? (spec.body === undefined ? undefined : JSON.stringify(spec.body))
  const headers: Record<string, string> = { ...spec.headers }
  if (payload !== undefined && spec.raw === undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json'
  const start = Date.now()
  return await new Promise<Outcome>((resolve) => {
    let accepted = false
    let settled = false
    const done = (o: Omit<Outcome, 'kind' | 'method' | 'path' | 'start' | 'end' | 'accepted'>): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve({ kind: spec.kind, method: spec.method, path: spec.path, start, end: Date.now(), accepted, ...o })
    }
    const req = https.request(url, { method: spec.method, headers, agent: agentFor(target) }, (res) => {
      accepted = true
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', (err) => done({ status: res.statusCode, error: (err as NodeJS.ErrnoException).code ?? 'RESPONSE_ERROR' }))
      res.on('end', () => {
        const status = res.statusCode ?? 0
        const text = Buffer.concat(chunks).toString('utf8')
        let body: unknown
        try { body = text === '' ? undefined : JSON.parse(text) } catch { body = text }
        const envelope = status >= 400 ? isEnvelope(body) : undefined
        const code = envelope === true ? (body as { error: { code: string } }).error.code : undefined
        done({ status, body, ...(envelope === undefined ? {} : { envelope }), ...(code === undefined ? {} : { code }) })
      })
    })
    const timer = setTimeout(() => { done({ error: 'TIMEOUT' }); req.destroy() }, spec.timeoutMs ?? 30_000)
    let connected = false
    req.on('socket', (socket) => {
      const s = socket as TLSSocket
      if (req.reusedSocket || (!s.connecting && s.encrypted === true && s.authorized)) connected = true
      else s.once('secureConnect', () => { connected = true })
    })
    req.once('finish', () => { accepted = connected })
    req.on('error', (err) => done({ error: (err as NodeJS.ErrnoException).code ?? err.message }))
    if (payload !== undefined) req.write(payload)
    req.end()
  })
}

/** A request to the simulator's test API (the phone's side); not part of the public API's books. */
export async function simCall (simUrl: string, path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST'): Promise<{ status: number, body: any }> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(simUrl + path, {
        method,
        ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(15_000)
      })
      const text = await res.text()
      return { status: res.status, body: text === '' ? undefined : JSON.parse(text) }
    } catch (err) {
      if (attempt >= 3) throw err
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}
