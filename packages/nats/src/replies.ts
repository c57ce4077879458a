import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node'

/** How a request ended without a reply: nobody subscribed to the subject, no reply in time, or the connection closed. */
export type NoReply = 'no-responders' | 'timeout' | 'closed'

/** A request that got no reply; built only on that path, so a reply costs no `Error`. */
export class NoReplyError extends Error {
  override name = 'NoReplyError'
  constructor (readonly why: NoReply, subject: string) {
    super(`no reply to ${subject}: ${why}`)
  }
}

interface Waiting {
  subject: string
  resolve: (msg: Msg) => void
  reject: (err: NoReplyError) => void
  timer: NodeJS.Timeout
}

/**
 * The replies to one connection's requests, all on one wildcard inbox subscription, as nats.js's own request()
 * does, without its per-request promise race, random token and the `Error` it builds on every success (its
 * cancel path). The inbox is under the connection's `inboxPrefix`, where the permission matrix lets this
 * identity subscribe.
 */
export class Replies {
  private sub: Subscription | undefined
  private base = ''
  private seq = 0
  private readonly waiting = new Map<string, Waiting>()

  constructor (private readonly nc: NatsConnection) {}

  /** Publishes `data` to `subject` and resolves with the reply; rejects with why none came. Throws what publish throws. */
  async request (subject: string, data: Uint8Array, timeoutMs: number, headers: MsgHdrs): Promise<Msg> {
    const inbox = this.inbox()
    const token = (++this.seq).toString(36)
    return await new Promise<Msg>((resolve, reject) => {
      const timer = setTimeout(() => { this.fail(token, 'timeout') }, timeoutMs)
      this.waiting.set(token, { subject, resolve, reject, timer })
      try {
        this.nc.publish(subject, data, { reply: inbox + token, headers })
      } catch (err) {
        this.settle(token)
        reject(err)
      }
    })
  }

  private inbox (): string {
    if (this.sub === undefined || this.sub.isClosed()) {
      // The connection's inboxPrefix, where the permission matrix lets this identity subscribe; the client keeps it in its options.
      const options: unknown = Reflect.get(this.nc, 'options')
      const prefix = typeof options === 'object' && options !== null && 'inboxPrefix' in options && typeof options.inboxPrefix === 'string' ? options.inboxPrefix : undefined
      this.base = `${createInbox(prefix)}.`
      const sub = this.nc.subscribe(`${this.base}*`, { callback: (_err, msg) => { this.deliver(msg) } })
      this.sub = sub
      const closed = (): void => {
        if (this.sub === sub) this.sub = undefined
        for (const token of [...this.waiting.keys()]) this.fail(token, 'closed')
      }
      void sub.closed.then(closed, closed)
    }
    return this.base
  }

  private deliver (msg: Msg): void {
    const w = this.settle(msg.subject.slice(this.base.length))
    if (w === undefined) return
    // The server's no-responders status: an empty message with status 503 on the reply subject.
    if (msg.data.length === 0 && msg.headers?.code === 503) w.reject(new NoReplyError('no-responders', w.subject))
    else w.resolve(msg)
  }

  private fail (token: string, why: NoReply): void {
    const w = this.settle(token)
    w?.reject(new NoReplyError(why, w.subject))
  }

  private settle (token: string): Waiting | undefined {
    const w = this.waiting.get(token)
    if (w === undefined) return undefined
    this.waiting.delete(token)
    clearTimeout(w.timer)
    return w
  }
}
