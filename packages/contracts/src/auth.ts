import { Type, type Static } from '@sinclair/typebox'
import { Role } from './tokens.js'
import { UserProfile } from './user.js'

// wx.login codes are opaque; WeChat's are 32 characters today. Bound the shape, not the exact length.
export const LoginCode = Type.String({ minLength: 8, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' })

export const WechatLoginRequest = Type.Object({ code: LoginCode }, { additionalProperties: false })
export type WechatLoginRequest = Static<typeof WechatLoginRequest>

export const TokenPair = Type.Object({
  accessToken: Type.String(),
  refreshToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'Access-token lifetime in seconds' })
})

export const LoginResponse = Type.Intersect([TokenPair, Type.Object({ user: UserProfile })])
export type LoginResponse = Static<typeof LoginResponse>

export const RefreshRequest = Type.Object({ refreshToken: Type.String({ minLength: 20, maxLength: 200 }) }, { additionalProperties: false })
export type RefreshRequest = Static<typeof RefreshRequest>
export type TokenPair = Static<typeof TokenPair>

export const LogoutResponse = Type.Object({ revokedSessions: Type.Integer() })
export type LogoutResponse = Static<typeof LogoutResponse>

/** One session written to the revocation bucket, with the KV revision (stream sequence) of that write. */
export const AppliedRevocation = Type.Object({ sessionId: Type.String(), revision: Type.Integer({ minimum: 1 }) })
export type AppliedRevocation = Static<typeof AppliedRevocation>

/**
 * What auth answers a logout over NATS: the public answer plus every revocation it wrote, so the answering gateway
 * refuses those sessions before it replies (its watch of the bucket may lag); the gateway sends only LogoutResponse.
 */
export const LogoutReply = Type.Object({ revokedSessions: Type.Integer(), revocations: Type.Array(AppliedRevocation) })
export type LogoutReply = Static<typeof LogoutReply>

// Usernames: letters, digits and . _ - ; compared case-insensitively.
export const Username = Type.String({ minLength: 3, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' })
// The length limit in bytes (bcrypt's 72) is checked by the service, which can say why.
export const Password = Type.String({ minLength: 10, maxLength: 256 })

export const PasswordRegisterRequest = Type.Object({ username: Username, password: Password }, { additionalProperties: false })
export type PasswordRegisterRequest = Static<typeof PasswordRegisterRequest>

export const PasswordLoginRequest = Type.Object({
  // Logins accept any string so that a malformed name is answered like a wrong one.
  username: Type.String({ minLength: 1, maxLength: 256 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
  totp: Type.Optional(Type.String({ pattern: '^[0-9]{6}$' }))
}, { additionalProperties: false })
export type PasswordLoginRequest = Static<typeof PasswordLoginRequest>

export const TotpEnrollResponse = Type.Object({
  secret: Type.String({ description: 'Base32 secret for the authenticator app; shown once' }),
  otpauthUrl: Type.String()
})
export const TotpVerifyRequest = Type.Object({ code: Type.String({ pattern: '^[0-9]{6}$' }) }, { additionalProperties: false })
export const TotpVerifyResponse = Type.Object({ enabled: Type.Boolean() })

export const BindPhoneRequest = Type.Object({ code: LoginCode }, { additionalProperties: false })
export const BindPhoneResponse = Type.Object({ phone: Type.String({ description: 'Masked' }) })

/**
 * `auth.reauth` (step-up): a fresh authentication for the caller's own session, with a new wx.login code (a WeChat
 * user) or the password and, once enrolled, a TOTP code. The session keeps its refresh token; its access token is
 * re-issued with `auth_time` now and `amr` saying how.
 */
export const ReauthRequest = Type.Union([
  Type.Object({ code: LoginCode }, { additionalProperties: false }),
  Type.Object({ password: Password, totp: Type.Optional(Type.String({ pattern: '^[0-9]{6}$' })) }, { additionalProperties: false })
])
export type ReauthRequest = Static<typeof ReauthRequest>
export const ReauthResponse = Type.Object({
  accessToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer()
})
export type ReauthResponse = Static<typeof ReauthResponse>

/** `auth.createStaff` (admins): a password account with a staff or admin role; it must enrol TOTP before it acts as staff. */
export const CreateStaffRequest = Type.Object({
  username: Username,
  password: Password,
  role: Type.Union([Type.Literal('staff'), Type.Literal('admin')])
}, { additionalProperties: false })
export type CreateStaffRequest = Static<typeof CreateStaffRequest>
export const StaffAccount = Type.Object({
  userId: Type.String({ format: 'uuid' }),
  username: Type.String(),
  role: Role,
  totpEnabled: Type.Boolean()
})
export type StaffAccount = Static<typeof StaffAccount>

/** `auth.setRole` (admins): changes a password account's role; its sessions end at once (their tokens carry the old one). */
export const SetRoleRequest = Type.Object({ userId: Type.String({ format: 'uuid' }), role: Role }, { additionalProperties: false })
export type SetRoleRequest = Static<typeof SetRoleRequest>
export const SetRoleReply = Type.Intersect([StaffAccount, Type.Object({ revocations: Type.Array(AppliedRevocation) })])
export type SetRoleReply = Static<typeof SetRoleReply>

/**
 * What the audit stream records, one event per action: `events.auth.<action>`. Never a secret: no password, code,
 * token or session key; usernames only as typed at a failed login (they may be an attacker's guesses).
 */
export const AUTH_AUDIT_ACTIONS = [
  'login_succeeded', 'login_failed', 'locked_out', 'refresh_reused', 'logged_out', 'role_changed', 'stepped_up',
  'staff_created', 'session_revoked', 'account_deleted', 'user_disabled', 'user_enabled'
] as const
export const AuthAuditAction = Type.Union(AUTH_AUDIT_ACTIONS.map((a) => Type.Literal(a)))
export type AuthAuditAction = typeof AUTH_AUDIT_ACTIONS[number]
export const AuthAuditEvent = Type.Object({
  id: Type.String(),
  action: AuthAuditAction,
  at: Type.String({ description: 'ISO 8601' }),
  /** Whom the action is about (absent for a failed login of an unknown username). */
  userId: Type.Optional(Type.String()),
  /** Who did it, when not the user themselves (an admin changing a role, staff disabling a user). */
  actorId: Type.Optional(Type.String()),
  sessionId: Type.Optional(Type.String()),
  method: Type.Optional(Type.String({ description: 'wechat, password or refresh' })),
  role: Type.Optional(Role),
  reason: Type.Optional(Type.String({ description: 'An error code, or why a session ended' })),
  sessions: Type.Optional(Type.Integer({ description: 'How many sessions the action ended' })),
  username: Type.Optional(Type.String())
}, { additionalProperties: false })
export type AuthAuditEvent = Static<typeof AuthAuditEvent>
