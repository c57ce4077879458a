import type { FastifyInstance } from 'fastify'
import { Subjects } from '@wxmp/contracts'
import type { Log } from '@wxmp/core'
import { decodeJson, incomingContext } from '@wxmp/nats'
import type { ProfileCache } from './profile-cache.js'

/**
 * Every replica's view of the profile writes any replica takes. The service's endpoints share each request in a
 * queue group, so one replica answers it; these plain subscriptions to the same write subjects (which the user
 * service may already subscribe to: no new subject, no new permission) let every other replica hold that user out of
 * its cache until the write has committed. Each replica hears the write request when the answering one does, before
 * it can reply, so a read sent after the reply finds the user held everywhere.
 */
type NatsConnection = FastifyInstance['nats']
type Subscription = ReturnType<NatsConnection['subscribe']>

export class ProfileWrites {
  private readonly subs: Subscription[] = []

  constructor (private readonly cache: ProfileCache, private readonly log: Log) {}

  start (nc: NatsConnection, prefix: string): void {
    const watch = (subject: string, userOf: (data: Uint8Array, headers: Parameters<typeof incomingContext>[0]) => void): void => {
      this.subs.push(nc.subscribe(prefix + subject, {
        callback: (err, msg) => {
          if (err !== null) { this.log.error({ err: { message: err.message }, subject }, 'profile write watch stopped'); return }
          try {
            userOf(msg.data, msg.headers)
          } catch {
            // The endpoint refuses what it cannot read, so there is no write to wait for.
          }
        }
      }))
    }
    watch(Subjects.user.update, (_data, headers) => {
      const { userId } = incomingContext(headers)
      if (userId !== undefined) this.cache.hold(userId)
    })
    watch(Subjects.user.setPhone, (data) => {
      const { userId } = decodeJson(data) as { userId?: unknown }
      if (typeof userId === 'string') this.cache.hold(userId)
    })
    watch(Subjects.user.erase, (data) => {
      const by = decodeJson(data) as { userId?: unknown, appid?: unknown, openid?: unknown }
      if (typeof by.userId === 'string') this.cache.hold(by.userId)
      else if (typeof by.appid === 'string' && typeof by.openid === 'string') this.cache.holdIdentity(by.appid, by.openid)
    })
  }

  stop (): void {
    for (const sub of this.subs.splice(0)) sub.unsubscribe()
  }
}
