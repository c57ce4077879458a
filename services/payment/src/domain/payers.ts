import { isAppError, type TraceContext } from '@wxmp/core'
import { Contracts, type UserIdentity } from '@wxmp/contracts'
import type { NatsClient } from '@wxmp/nats'
import { PaymentErrors } from '../errors.js'

/**
 * The payer openid of a user, from the user service (`user.identity`). A user's (appid, openid) never changes, so
 * answers are kept in memory (bounded, oldest out first) and a busy checkout does not ask again for every order.
 */
export class Payers {
  private readonly cache = new Map<string, UserIdentity>()

  constructor (private readonly nats: NatsClient, private readonly appid: string, private readonly max = 50_000) {}

  /** Forgets a user's identity (their account was deleted). */
  forget (userId: string): void {
    this.cache.delete(userId)
  }

  async openidOf (userId: string, trace: TraceContext): Promise<string> {
    let identity = this.cache.get(userId)
    if (identity === undefined) {
      try {
        identity = (await this.nats.request(Contracts.user.identity, { userId }, trace)).data
      } catch (err) {
        if (isAppError(err) && err.statusCode === 404) throw new PaymentErrors.PayerUnknown()
        throw err
      }
      this.cache.set(userId, identity)
      if (this.cache.size > this.max) this.cache.delete(this.cache.keys().next().value as string)
    }
    // An openid belongs to one app: another app's user cannot pay this app's merchant with JSAPI.
    if (identity.appid !== this.appid) throw new PaymentErrors.PayerUnknown()
    return identity.openid
  }
}
