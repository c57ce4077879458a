import type { TraceContext } from '@wxmp/core'

/**
 * Whether a caller's sign-in is fresh and strong enough to change credentials: a WeChat login, or a password with
 * TOTP, within `windowSeconds` of now, judged from the token's auth_time and amr the gateway forwarded. The same
 * rule as the edge's `stepUp: 'credentials'`, for the one action auth gates itself (logout-all removing the password,
 * which shares its route with a plain logout-all).
 */
export function freshCredentials (trace: Pick<TraceContext, 'authTime' | 'amr'>, windowSeconds: number, nowMs = Date.now()): boolean {
  if (trace.authTime === undefined) return false
  const age = nowMs / 1000 - trace.authTime
  if (age > windowSeconds || age < -60) return false
  const amr = trace.amr ?? []
  return amr.includes('wechat') || (amr.includes('pwd') && amr.includes('otp'))
}
