import { createError } from '@wxmp/core'

/** The auth service's catalogue; codes are what a mini-program sees in the error envelope. */
export const AuthErrors = {
  RefreshInvalid: createError('AUTH_REFRESH_INVALID', 'Refresh token is not valid', 401),
  RefreshExpired: createError('AUTH_REFRESH_EXPIRED', 'Refresh token has expired; sign in again', 401),
  RefreshReused: createError('AUTH_REFRESH_REUSED', 'Refresh token was already used; every session of this login has been signed out', 401),
  SessionRevoked: createError('AUTH_SESSION_REVOKED', 'Session has ended; sign in again', 401),
  InvalidCredentials: createError('AUTH_INVALID_CREDENTIALS', 'Wrong username or password', 401),
  Locked: createError('AUTH_LOCKED', 'Too many failed attempts; try again later', 423),
  MfaRequired: createError('AUTH_MFA_REQUIRED', 'A one-time code from the authenticator app is required', 401),
  MfaInvalid: createError('AUTH_MFA_INVALID', 'The one-time code is wrong or was already used', 401),
  MfaNotEnrolled: createError('AUTH_MFA_NOT_ENROLLED', 'Enroll an authenticator first', 409),
  MfaAlreadyEnabled: createError('AUTH_MFA_ALREADY_ENABLED', 'An authenticator is already enabled for this account', 409),
  UsernameTaken: createError('AUTH_USERNAME_TAKEN', 'That username is taken', 409),
  PasswordExists: createError('AUTH_PASSWORD_EXISTS', 'This account already has a password', 409),
  PasswordTooLong: createError('AUTH_PASSWORD_TOO_LONG', 'Password must be at most 72 bytes in UTF-8', 400),
  PasswordTooWeak: createError<[string]>('AUTH_PASSWORD_TOO_WEAK', '%s', 400),
  LoginBusy: createError('AUTH_LOGIN_BUSY', 'The same login is still being processed; retry shortly', 503)
}
