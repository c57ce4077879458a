import type { FastifyReply, FastifyRequest } from 'fastify'
import { newRid } from '../domain/ids.js'
import type { WxError } from '../domain/mini-program.js'

/** A mini-program server API error as WeChat writes it: errcode, and errmsg with a request id appended. */
export function answer (reply: FastifyReply, e: WxError): FastifyReply {
  return reply.send({ errcode: e.errcode, errmsg: `${e.errmsg} rid: ${newRid()}` })
}

/** The JSON object of a POST body that WeChat's APIs read as text; anything else is undefined. */
export function jsonBody (request: FastifyRequest): Record<string, unknown> | undefined {
  if (typeof request.body !== 'string') return undefined
  try {
    const v: unknown = JSON.parse(request.body)
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

/** WeChat's answer to a body that is not the JSON object an API takes. */
export const DATA_FORMAT_ERROR: WxError = { errcode: 47001, errmsg: 'data format error' }
