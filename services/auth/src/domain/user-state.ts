import { businessCounter, type Log } from '@wxmp/core'
import type { SignUserStateReply } from '@wxmp/contracts'
import { userStateSignature } from '@wxmp/wechat'
import { AuthErrors } from '../errors.js'

const signatures = businessCounter('auth_user_state_signatures_total', 'User-state signatures asked for (virtual payment), by outcome (signed, stale)', ['outcome'] as const)

/** Where the session_key comes from and how WeChat is asked whether it is still current. */
export interface UserStateDeps {
  /** The sealed session_key of the user's latest WeChat login, opened; undefined when there is none (expired). */
  sessionKeyOf: (userId: string) => Promise<{ openid: string, sessionKey: string } | undefined>
  /** WeChat's checkSessionKey (`/wxa/checksession`): false when WeChat has replaced the key. */
  checkSessionKey: (openid: string, sessionKey: string) => Promise<boolean>
  /** Forgets a key WeChat no longer accepts, so the next request does not ask WeChat again. */
  forget: (userId: string) => Promise<void>
}

/**
 * The user-state signature of WeChat's virtual payment: HMAC-SHA256 with the user's current session_key. The key
 * stays here; only the signature leaves. WeChat replaces a session_key when the user logs in again (on another
 * device, or a wx.login whose code never reached us), and a signature with the old one fails on the phone, so the
 * key is checked with WeChat's checkSessionKey before every signature: a replaced (or missing) key is
 * AUTH_SESSION_KEY_STALE, which tells the client to wx.login again.
 */
export class UserStateSigner {
  constructor (private readonly deps: UserStateDeps) {}

  async sign (userId: string, data: string, log: Log): Promise<SignUserStateReply> {
    const held = await this.deps.sessionKeyOf(userId)
    if (held === undefined) {
      signatures.inc({ outcome: 'stale' })
      log.info({ userId, why: 'none' }, 'no session_key held for the user; a new wx.login is needed')
      throw new AuthErrors.SessionKeyStale()
    }
    if (!(await this.deps.checkSessionKey(held.openid, held.sessionKey))) {
      signatures.inc({ outcome: 'stale' })
      await this.deps.forget(userId).catch((err: Error) => { log.warn({ err: { message: err.message } }, 'stale session_key not forgotten') })
      log.info({ userId, why: 'replaced' }, 'WeChat no longer accepts the held session_key; a new wx.login is needed')
      throw new AuthErrors.SessionKeyStale()
    }
    signatures.inc({ outcome: 'signed' })
    return { openid: held.openid, signature: userStateSignature(held.sessionKey, data) }
  }
}
