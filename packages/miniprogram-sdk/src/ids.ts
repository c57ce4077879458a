// The mini-program runtime has no crypto.getRandomValues on every base library version; these ids need to be
// unique, not secret, so Math.random is enough.
function hex (length: number): string {
  let s = ''
  for (let i = 0; i < length; i++) s += Math.floor(Math.random() * 16).toString(16)
  return s
}

function nonZeroHex (length: number): string {
  for (;;) {
    const s = hex(length)
    if (/[^0]/.test(s)) return s
  }
}

/** A W3C trace id: 32 hex digits, not all zero. */
export function newTraceId (): string {
  return nonZeroHex(32)
}

/** A W3C `traceparent` for one attempt of a request: the request's trace id and a fresh span id, sampled. */
export function traceparent (traceId: string): string {
  return `00-${traceId}-${nonZeroHex(16)}-01`
}

/** A UUID v4, the form the gateway expects in Idempotency-Key. */
export function newIdempotencyKey (): string {
  const h = hex(32).split('')
  h[12] = '4'
  h[16] = '89ab'.charAt(Math.floor(Math.random() * 4))
  const s = h.join('')
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`
}
