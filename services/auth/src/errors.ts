import { createError } from '@wxmp/core'

/**
 * The auth service's catalogue; codes are what a mini-program sees in the error envelope. The WeChat login codes
 * (AUTH_CODE_INVALID, AUTH_CODE_USED, AUTH_USER_BLOCKED) are @wxmp/wechat's: auth throws those, never copies.
 */
export const AuthErrors = {
  RefreshInvalid: createError('AUTH_REFRESH_INVALID', 'Refresh token is not valid', 401, {
    meaning: 'The refresh token is unknown or malformed',
    action: 'Sign in again (wx.login, or username and password)'
  }),
  RefreshExpired: createError('AUTH_REFRESH_EXPIRED', 'Refresh token has expired; sign in again', 401, {
    meaning: 'The refresh token or its session reached the end of its life',
    action: 'Sign in again'
  }),
  RefreshReused: createError('AUTH_REFRESH_REUSED', 'Refresh token was already used; every session of this login has been signed out', 401, {
    meaning: 'A refresh token was used twice (a sign of theft), so its whole login family was revoked',
    action: 'Sign in again; keep only the latest refresh token and never refresh twice in parallel'
  }),
  SessionRevoked: createError('AUTH_SESSION_REVOKED', 'Session has ended; sign in again', 401, {
    meaning: 'The session was ended by logout, logout-all, or from another device',
    action: 'Sign in again'
  }),
  InvalidCredentials: createError('AUTH_INVALID_CREDENTIALS', 'Wrong username or password', 401, {
    meaning: 'The username or password is wrong (which one is not said)',
    action: 'Let the user try again; repeated failures lock the username (AUTH_LOCKED)'
  }),
  ReauthMismatch: createError('AUTH_REAUTH_MISMATCH', 'This WeChat login belongs to another user', 401, {
    meaning: 'A step-up sent a wx.login code of a different WeChat user than the signed-in one',
    action: 'Call wx.login on the same WeChat account and authenticate again'
  }),
  Locked: createError('AUTH_LOCKED', 'Too many failed attempts; try again later', 423, {
    meaning: 'Too many failed sign-ins for this username; it is locked for a while',
    action: 'Wait the Retry-After seconds before the next attempt'
  }),
  MfaRequired: createError('AUTH_MFA_REQUIRED', 'A one-time code from the authenticator app is required', 401, {
    meaning: 'The password was right and the account has TOTP enabled',
    action: 'Ask for the authenticator code and sign in again with it'
  }),
  MfaInvalid: createError('AUTH_MFA_INVALID', 'The one-time code is wrong or was already used', 401, {
    meaning: 'The one-time code is wrong, expired or already used',
    action: 'Ask for the next code from the authenticator app'
  }),
  MfaNotEnrolled: createError('AUTH_MFA_NOT_ENROLLED', 'Enroll an authenticator first', 409, {
    meaning: 'TOTP verification was asked for before enrolment',
    action: 'Call POST /v1/auth/mfa/totp/enroll first'
  }),
  MfaAlreadyEnabled: createError('AUTH_MFA_ALREADY_ENABLED', 'An authenticator is already enabled for this account', 409, {
    meaning: 'The account already has an authenticator enabled',
    action: 'Nothing to do; do not enroll again'
  }),
  UsernameTaken: createError('AUTH_USERNAME_TAKEN', 'That username is taken', 409, {
    meaning: 'Another account has this username',
    action: 'Ask the user for another username'
  }),
  PasswordExists: createError('AUTH_PASSWORD_EXISTS', 'This account already has a password', 409, {
    meaning: 'The signed-in account already has a password',
    action: 'Sign in with the existing password instead of registering'
  }),
  PasswordTooLong: createError('AUTH_PASSWORD_TOO_LONG', 'Password must be at most 72 bytes in UTF-8', 400, {
    meaning: 'The password is longer than 72 bytes in UTF-8',
    action: 'Ask for a shorter password'
  }),
  PasswordTooWeak: createError<[string]>('AUTH_PASSWORD_TOO_WEAK', '%s', 400, {
    meaning: 'The password is too short or too repetitive; the message says which',
    action: 'Ask for a stronger password'
  }),
  LoginBusy: createError('AUTH_LOGIN_BUSY', 'The same login is still being processed; retry shortly', 503, {
    meaning: 'Another request with the same login code is still in progress',
    action: 'Retry the same request after a short wait'
  }),
  RevocationUnavailable: createError('AUTH_REVOCATION_UNAVAILABLE', 'Signing out is unavailable for a moment; the session is still active', 503, {
    meaning: 'The session could not be ended everywhere (the revocation store is unavailable), so nothing was changed: the session and its tokens still work',
    action: 'Retry the same request after the Retry-After seconds; sign-out succeeds once the store is back'
  })
}
