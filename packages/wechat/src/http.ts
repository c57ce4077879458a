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
  const e = err as { cause?: { code?: string, message?: string }, message?: string }
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err)
}

export interface SendOptions {
  method: string
  headers?: Record<string, string>
  body?: string
  timeoutMs: number
}

/** One HTTP exchange through the built-in fetch (undici); the whole exchange, body included, shares one deadline. */
export async function send (url: string, opts: SendOptions): Promise<RawResponse> {
  const signal = AbortSignal.timeout(opts.timeoutMs)
  try {
    const init: RequestInit = { method: opts.method, signal, redirect: 'manual' }
    if (opts.headers !== undefined) init.headers = opts.headers
    if (opts.body !== undefined) init.body = opts.body
    const res = await fetch(url, init)
    const body = Buffer.from(await res.arrayBuffer())
    return { status: res.status, headers: res.headers, body }
  } catch (err) {
    if (signal.aborted) throw new TransportError('timeout', err)
    throw new TransportError('network', err)
  }
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
