import { Type } from '@sinclair/typebox'
import { Errors } from './errors.js'

/** The caller's roles, least to most: a buyer (every user), staff (operates orders), an admin (also manages staff). */
export type CallerRole = 'buyer' | 'staff' | 'admin'
const RANK: Readonly<Record<CallerRole, number>> = { buyer: 0, staff: 1, admin: 2 }

/**
 * A fresh authentication an action needs:
 * - `credentials` (binding a password, TOTP changes, deleting the account): any authentication within the window,
 *   with every factor the account has (auth only issues `pwd` alone to an account without TOTP);
 * - `money` (staff refunds and other money actions): a TOTP code within the window.
 */
export type StepUpKind = 'credentials' | 'money'

export interface CallerAuth {
  role?: string
  /** Epoch seconds of the last authentication with a credential. */
  authTime?: number
  amr?: string[]
}

/** Throws 403 FORBIDDEN unless the caller's role is at least `least`. */
export function assertRole (least: CallerRole, caller: CallerAuth): void {
  const rank = RANK[(caller.role ?? 'buyer') as CallerRole]
  if (rank === undefined || rank < RANK[least]) throw new Errors.Forbidden()
}

/** Throws 401 AUTH_REAUTH_REQUIRED unless the caller authenticated within `windowS` seconds, with TOTP for `money`. */
export function assertStepUp (kind: StepUpKind, caller: CallerAuth, windowS: number, nowMs = Date.now()): void {
  const age = caller.authTime === undefined ? Infinity : nowMs / 1000 - caller.authTime
  if (!(age <= windowS)) {
    throw new Errors.ReauthRequired(`This needs a sign-in within the last ${windowS} seconds; authenticate again (POST /v1/auth/reauth)`)
  }
  if (kind === 'money' && caller.amr?.includes('otp') !== true) {
    throw new Errors.ReauthRequired('This needs a recent sign-in with a one-time code from the authenticator app; authenticate again with the password and TOTP code')
  }
}

/** The step-up windows, one setting each for every process that judges them (the gateway, and services as a second check). */
export const stepUpConfigProperties = {
  STEP_UP_CREDENTIALS_S: Type.Integer({ default: 300, minimum: 30, maximum: 3600, description: 'How recent a sign-in must be to bind a password, change TOTP or delete the account (seconds).' }),
  STEP_UP_MONEY_S: Type.Integer({ default: 300, minimum: 30, maximum: 3600, description: 'How recent a sign-in with a TOTP code must be for a staff money action: refunds, approving refund requests, closing orders (seconds).' })
}
