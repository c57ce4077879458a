import { randomBytes, randomInt, randomUUID } from 'node:crypto'

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const URLSAFE = ALNUM + '-_'

export const alnum = (n: number): string => Array.from({ length: n }, () => ALNUM[randomInt(ALNUM.length)]).join('')
export const digits = (n: number): string => Array.from({ length: n }, () => String(randomInt(10))).join('')

/** Shapes of WeChat's identifiers, so that code validating them against real ones sees the same forms. */
export const newLoginCode = (): string => alnum(32)
export const newPhoneCode = (): string => randomBytes(32).toString('hex')
export const newOpenid = (): string => 'o' + Array.from({ length: 27 }, () => URLSAFE[randomInt(URLSAFE.length)]).join('')
export const newSessionKey = (): string => randomBytes(16).toString('base64')
export const newAccessToken = (): string => `${randomInt(60, 99)}_${randomBytes(102).toString('base64url')}`
/** WeChat's rid, appended to every errmsg. */
export const newRid = (): string => `${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}`
export const newRequestId = (): string => randomBytes(20).toString('hex').toUpperCase() + '-' + digits(4)
export const newNotificationId = (): string => randomUUID()

/** Time in Beijing as WeChat Pay writes it: 2018-06-08T10:34:56+08:00. */
export function beijingTime (ms = Date.now()): string {
  return new Date(ms + 8 * 3600_000).toISOString().replace(/\.\d{3}Z$/, '+08:00')
}

function compactBeijing (ms: number): string {
  return beijingTime(ms).replace(/[-:T]/g, '').slice(0, 14)
}

export const newPrepayId = (): string => `wx${compactBeijing(Date.now())}${randomBytes(10).toString('hex')}`
export const newTransactionId = (): string => `4200${digits(6)}${compactBeijing(Date.now()).slice(0, 8)}${digits(10)}`
export const newRefundId = (): string => `50${digits(9)}${compactBeijing(Date.now()).slice(0, 8)}${digits(10)}`
