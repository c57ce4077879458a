/** The gateway answered with its error envelope `{"error": {"code", "message", "traceId"}}` (or a bare status). */
export class ApiError extends Error {
  readonly code: string
  readonly status: number
  /** The trace id to look up in the backend's logs. */
  readonly traceId: string | undefined

  constructor (code: string, message: string, status: number, traceId?: string) {
    super(message)
    this.name = 'ApiError'
    this.code = code
    this.status = status
    this.traceId = traceId
  }
}

/** wx.request failed without an HTTP answer: WeChat's errMsg, e.g. `request:fail timeout`. */
export class NetworkError extends Error {
  readonly errMsg: string

  constructor (errMsg: string) {
    super(errMsg)
    this.name = 'NetworkError'
    this.errMsg = errMsg
  }
}

/** A wx API other than wx.request failed (wx.login), with WeChat's errMsg. */
export class WxError extends Error {
  readonly errMsg: string

  constructor (errMsg: string) {
    super(errMsg)
    this.name = 'WxError'
    this.errMsg = errMsg
  }
}

/** The codes after which a login code is spent: a new wx.login is the only way on. */
export const SPENT_CODE = ['AUTH_CODE_USED', 'AUTH_CODE_INVALID']

interface Envelope { error?: { code?: unknown, message?: unknown, traceId?: unknown } }

/** Reads an error answer; wx.request calls `success` for every status, so this is where 4xx and 5xx become errors. */
export function toApiError (status: number, data: unknown, header: Record<string, unknown> | undefined): ApiError {
  const e = typeof data === 'object' && data !== null ? (data as Envelope).error : undefined
  if (e !== undefined && e !== null && typeof e.code === 'string') {
    return new ApiError(e.code, typeof e.message === 'string' ? e.message : e.code, status, typeof e.traceId === 'string' ? e.traceId : undefined)
  }
  // Not the envelope (a proxy's page, a platform error): still typed, with the trace the gateway echoed if any.
  const tp = header === undefined ? undefined : (header.traceparent ?? header.Traceparent)
  const traceId = typeof tp === 'string' ? tp.split('-')[1] : undefined
  return new ApiError(`HTTP_${status}`, `HTTP ${status}`, status, traceId)
}
