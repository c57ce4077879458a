/** What a page shows for a failed call: the error code and the trace id to quote to support. */
export function describe (err: unknown): string {
  const e = err as { code?: string, errMsg?: string, traceId?: string, message?: string }
  if (e.code !== undefined) return `${e.code}${e.traceId === undefined ? '' : ` (trace ${e.traceId})`}`
  return e.errMsg ?? e.message ?? String(err)
}
