import tls from 'node:tls'

/** The answer to a raw request, parsed just enough to judge it. */
export interface RawAnswer {
  status?: number
  headers: Record<string, string>
  body: string
  /** The request was written on an established TLS connection. */
  accepted: boolean
  error?: string
}

/**
 * Writes exact bytes to the gateway over TLS and reads the answer until the server closes: for requests an HTTP
 * client library refuses to send (CR/LF or NUL in headers, invalid UTF-8, duplicate Content-Length, unknown methods).
 */
export async function rawRequest (url: string, ca: string, bytes: Buffer, timeoutMs = 15_000): Promise<RawAnswer> {
  const u = new URL(url)
  return await new Promise<RawAnswer>((resolve) => {
    const chunks: Buffer[] = []
    let accepted = false
    let settled = false
    const finish = (error?: string): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      const parsed = parse(Buffer.concat(chunks))
      resolve({ ...parsed, accepted, ...(error !== undefined && parsed.status === undefined ? { error } : {}) })
    }
    const socket = tls.connect({ host: '127.0.0.1', port: Number(u.port), servername: u.hostname, ca }, () => {
      socket.write(bytes, () => { accepted = true })
    })
    const timer = setTimeout(() => { finish('TIMEOUT') }, timeoutMs)
    socket.on('data', (c: Buffer) => {
      chunks.push(c)
      // One answer is all we wait for: a kept-alive connection would otherwise stay open.
      if (parse(Buffer.concat(chunks)).complete) finish()
    })
    socket.on('end', () => { finish() })
    socket.on('error', (err: NodeJS.ErrnoException) => { finish(err.code ?? err.message) })
  })
}

function parse (buf: Buffer): { status?: number, headers: Record<string, string>, body: string, complete: boolean } {
  const text = buf.toString('latin1')
  const end = text.indexOf('\r\n\r\n')
  if (end < 0) return { headers: {}, body: '', complete: false }
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN)
  const headers: Record<string, string> = {}
  for (const l of lines) {
    const i = l.indexOf(':')
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim()
  }
  let rest = buf.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'))
  let complete = false
  let body = rest
  if (headers['transfer-encoding']?.includes('chunked') === true) {
    const parts: Buffer[] = []
    for (;;) {
      const crlf = rest.indexOf('\r\n')
      if (crlf < 0) break
      const size = parseInt(rest.subarray(0, crlf).toString('latin1'), 16)
      if (Number.isNaN(size)) break
      if (size === 0) { complete = true; break }
      if (rest.length < crlf + 2 + size + 2) break
      parts.push(rest.subarray(crlf + 2, crlf + 2 + size))
      rest = rest.subarray(crlf + 2 + size + 2)
    }
    body = Buffer.concat(parts)
  } else if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length'])
    complete = rest.length >= n
    body = rest.subarray(0, n)
  } else if (status === 204 || status === 304) {
    complete = true
  }
  return { ...(Number.isNaN(status) ? {} : { status }), headers, body: body.toString('utf8'), complete }
}
