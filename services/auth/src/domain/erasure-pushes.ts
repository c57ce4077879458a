import type { NatsConnection } from '@nats-io/transport-node'
import { wechatPushSubject, type WechatPushEvent } from '@wxmp/contracts'
import { businessCounter, type Log, type TraceContext } from '@wxmp/core'
import { DurableConsumer } from '@wxmp/nats'
import type { AccountRights, ErasureCause } from './account-rights.js'

/** The durable consumer of the pushes that erase an account; named in the NATS permission matrix. */
export const ERASURE_CONSUMER = 'auth-account-erasure'

/** WeChat's pushes that ask the developer to delete a user's data: withdrawn authorisation, a cancelled WeChat account. */
export const ERASURE_EVENTS: ReadonlySet<string> = new Set<ErasureCause>(['user_authorization_revoke', 'user_authorization_cancellation'])

const erasures = businessCounter('auth_push_erasures_total', 'Account erasures asked by WeChat pushes, by event and outcome (erased, unknown_user)', ['event', 'outcome'] as const)

const field = (message: Record<string, unknown>, name: string): string | undefined => {
  const v = message[name]
  return typeof v === 'string' && v !== '' ? v : undefined
}

/**
 * Erases the account a `user_authorization_revoke` or `user_authorization_cancellation` push names (its OpenID, and
 * AppID when given), as auth published the push on events.wechat.<event>. A durable consumer with explicit ack: an
 * event is acknowledged after the erasure committed; a redelivery, or the same push replayed, finds the user erased
 * (or the openid unknown) and changes nothing, so the erasure and its audit event happen once.
 */
export class ErasurePushes {
  private readonly consumer: DurableConsumer<WechatPushEvent>

  constructor (private readonly deps: { rights: AccountRights, appid: string, log: Log }) {
    // One filter for every push (nats-server 2.9 takes one); the others are acknowledged and dropped.
    this.consumer = new DurableConsumer<WechatPushEvent>({
      durable: ERASURE_CONSUMER,
      filter: wechatPushSubject('>'),
      what: 'account erasure push',
      handle: async (event, trace) => { await this.handle(event, trace) },
      log: deps.log
    })
  }

  /** Starts consuming in the background (see DurableConsumer: set-up retried, acks after the change committed). */
  start (nc: NatsConnection, prefix: string): void {
    this.consumer.start(nc, prefix)
  }

  async stop (): Promise<void> {
    await this.consumer.stop()
  }

  /** Applies one push event; any other push is ignored. */
  async handle (event: WechatPushEvent, trace: TraceContext): Promise<void> {
    if (!ERASURE_EVENTS.has(event.event)) return
    const cause = event.event as ErasureCause
    const openid = field(event.message, 'OpenID')
    if (openid === undefined) {
      this.deps.log.warn({ event: event.event, eventId: event.id }, 'erasure push without an OpenID; ignored')
      return
    }
    const appid = field(event.message, 'AppID') ?? this.deps.appid
    if (appid !== this.deps.appid) {
      this.deps.log.warn({ event: event.event, eventId: event.id }, 'erasure push for another app; ignored')
      return
    }
    const done = await this.deps.rights.eraseByOpenid(appid, openid, cause, trace)
    erasures.inc({ event: cause, outcome: done === undefined ? 'unknown_user' : 'erased' })
    this.deps.log.info({ event: cause, eventId: event.id, erased: done !== undefined }, done === undefined ? 'erasure push names no current user' : 'account erased on WeChat\'s push')
  }
}
