import { Type, type Static, type TSchema, type TUint8Array } from '@sinclair/typebox'

/** The payload of a request that carries nothing: `{}` and nothing else. */
export const Empty = Type.Object({}, { additionalProperties: false })
export type Empty = Static<typeof Empty>

/**
 * A request/reply subject with the schemas of both messages. Callers and the serving endpoint are typed from the
 * same value, so a change to either schema shows up at every use.
 */
export interface RequestContract<Req extends TSchema = TSchema, Rep extends TSchema = TSchema> {
  /** `<domain>.<verb>`, before the deployment prefix. */
  readonly subject: string
  /** The JSON payload the endpoint validates. */
  readonly request: Req
  /** The JSON payload the endpoint answers with. */
  readonly reply: Rep
  /** The payload is bytes sent untouched (signed bodies), not JSON; the endpoint validates them itself. */
  readonly raw?: boolean
}

/** A request contract whose payload is raw bytes. */
export type RawContract<Rep extends TSchema = TSchema> = RequestContract<TUint8Array, Rep> & { readonly raw: true }

export type RequestOf<C extends RequestContract> = Static<C['request']>
export type ReplyOf<C extends RequestContract> = Static<C['reply']>

export function contract<Req extends TSchema, Rep extends TSchema> (subject: string, request: Req, reply: Rep): RequestContract<Req, Rep> {
  return { subject, request, reply }
}

export function rawContract<Rep extends TSchema> (subject: string, reply: Rep): RawContract<Rep> {
  return { subject, request: Type.Uint8Array(), reply, raw: true }
}

/** An event on the EVENTS stream with the schema of its payload (the event id included). */
export interface EventContract<S extends TSchema = TSchema> {
  /** `events.<domain>.<what>`, before the deployment prefix. */
  readonly subject: string
  readonly schema: S
}

export type EventOf<E extends EventContract> = Static<E['schema']>
