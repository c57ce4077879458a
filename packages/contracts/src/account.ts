import { Type, type Static } from '@sinclair/typebox'
import { AppliedRevocation, LoginCode, PasswordLoginRequest, PasswordRegisterRequest } from './auth.js'
import { UserProfile } from './user.js'

/**
 * The user's rights over their account: the sessions they can see and end, logout-all that can also remove the
 * bound password, account deletion; and staff finding, disabling and enabling users. Internal requests carry what
 * only the gateway knows (the client's address) beside the public body.
 */

const Time = Type.String({ format: 'date-time' })
const Uuid = Type.String({ format: 'uuid' })

/** Where a login came from, as the gateway saw it; shown back to the user in their session list. */
export const ClientInfo = Type.Object({
  ip: Type.Optional(Type.String({ maxLength: 64 })),
  userAgent: Type.Optional(Type.String({ maxLength: 512 }))
}, { additionalProperties: false })
export type ClientInfo = Static<typeof ClientInfo>

/** auth.wechatLogin: the public body plus the client the gateway saw. */
export const WechatLoginCall = Type.Object({ code: LoginCode, client: Type.Optional(ClientInfo) }, { additionalProperties: false })
export type WechatLoginCall = Static<typeof WechatLoginCall>

/** auth.passwordLogin: the public body plus the client the gateway saw. */
export const PasswordLoginCall = Type.Object({ ...PasswordLoginRequest.properties, client: Type.Optional(ClientInfo) }, { additionalProperties: false })
export type PasswordLoginCall = Static<typeof PasswordLoginCall>

/** auth.passwordRegister: the public body plus the client the gateway saw. */
export const PasswordRegisterCall = Type.Object({ ...PasswordRegisterRequest.properties, client: Type.Optional(ClientInfo) }, { additionalProperties: false })
export type PasswordRegisterCall = Static<typeof PasswordRegisterCall>

/** One live session of the caller (GET /v1/auth/sessions). */
export const SessionInfo = Type.Object({
  id: Uuid,
  /** The session of the token that asked. */
  current: Type.Boolean(),
  method: Type.String({ description: 'How it signed in: wechat or password' }),
  createdAt: Time,
  lastRefreshedAt: Type.Union([Time, Type.Null()], { description: 'Last token refresh; null when never refreshed' }),
  ip: Type.Union([Type.String(), Type.Null()], { description: 'Client IP address at sign-in' }),
  userAgent: Type.Union([Type.String(), Type.Null()], { description: 'Client user agent at sign-in' })
})
export type SessionInfo = Static<typeof SessionInfo>

export const SessionList = Type.Object({ sessions: Type.Array(SessionInfo) })
export type SessionList = Static<typeof SessionList>

/** DELETE /v1/auth/sessions/:id */
export const SessionIdParams = Type.Object({ id: Uuid }, { additionalProperties: false })
export type SessionIdParams = Static<typeof SessionIdParams>

/** auth.revokeSession: one of the caller's own sessions. */
export const RevokeSessionRequest = Type.Object({ sessionId: Uuid }, { additionalProperties: false })
export type RevokeSessionRequest = Static<typeof RevokeSessionRequest>

/** POST /v1/auth/logout-all: an empty body ends every session; `removePassword` also removes the bound password (step-up). */
export const LogoutAllRequest = Type.Object({
  removePassword: Type.Optional(Type.Boolean({ description: 'Also remove the username and password bound to this account; needs a fresh sign-in' }))
}, { additionalProperties: false })
export type LogoutAllRequest = Static<typeof LogoutAllRequest>

export const LogoutAllResponse = Type.Object({ revokedSessions: Type.Integer(), passwordRemoved: Type.Boolean() })
export type LogoutAllResponse = Static<typeof LogoutAllResponse>
export const LogoutAllReply = Type.Object({ revokedSessions: Type.Integer(), passwordRemoved: Type.Boolean(), revocations: Type.Array(AppliedRevocation) })
export type LogoutAllReply = Static<typeof LogoutAllReply>

/** DELETE /v1/users/me: the account is erased and every session ended. */
export const AccountDeletedResponse = Type.Object({ deleted: Type.Literal(true), revokedSessions: Type.Integer() })
export type AccountDeletedResponse = Static<typeof AccountDeletedResponse>
export const AccountDeletedReply = Type.Object({ deleted: Type.Literal(true), revokedSessions: Type.Integer(), revocations: Type.Array(AppliedRevocation) })
export type AccountDeletedReply = Static<typeof AccountDeletedReply>

/** GET /v1/admin/users?q=: a user id, a username or a phone number. */
export const FindUsersRequest = Type.Object({ q: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false })
export type FindUsersRequest = Static<typeof FindUsersRequest>

/** A user as staff see them: the phone masked, never the openid. */
export const AdminUser = Type.Object({
  id: Uuid,
  nickname: Type.Union([Type.String(), Type.Null()]),
  phone: Type.Union([Type.String({ description: 'Masked' }), Type.Null()]),
  username: Type.Union([Type.String(), Type.Null()]),
  disabled: Type.Boolean(),
  deleted: Type.Boolean(),
  createdAt: Time
})
export type AdminUser = Static<typeof AdminUser>
export const AdminUserList = Type.Object({ users: Type.Array(AdminUser) })
export type AdminUserList = Static<typeof AdminUserList>

/** POST /v1/admin/users/:id/disable|enable */
export const UserIdParams = Type.Object({ id: Uuid }, { additionalProperties: false })
export type UserIdParams = Static<typeof UserIdParams>
export const SetUserStatusRequest = Type.Object({ userId: Uuid }, { additionalProperties: false })
export type SetUserStatusRequest = Static<typeof SetUserStatusRequest>
export const UserStatusResponse = Type.Object({ userId: Uuid, disabled: Type.Boolean(), revokedSessions: Type.Integer() })
export type UserStatusResponse = Static<typeof UserStatusResponse>
export const UserStatusReply = Type.Object({ userId: Uuid, disabled: Type.Boolean(), revokedSessions: Type.Integer(), revocations: Type.Array(AppliedRevocation) })
export type UserStatusReply = Static<typeof UserStatusReply>

/** user.erase (internal, auth only): by user id, or by the WeChat identity a push names. */
export const EraseUserRequest = Type.Union([
  Type.Object({ userId: Uuid }, { additionalProperties: false }),
  Type.Object({ appid: Type.String({ pattern: '^wx[0-9a-f]{16}$' }), openid: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' }) }, { additionalProperties: false })
])
export type EraseUserRequest = Static<typeof EraseUserRequest>
/** `erased` is false when the user was erased before (a retry, a replayed push). */
export const EraseUserReply = Type.Object({ userId: Uuid, erased: Type.Boolean() })
export type EraseUserReply = Static<typeof EraseUserReply>

/** user.search (internal, auth only): users by id or by phone number. */
export const SearchUsersRequest = Type.Object({ q: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false })
export type SearchUsersRequest = Static<typeof SearchUsersRequest>
export const SearchUsersReply = Type.Object({ users: Type.Array(UserProfile) })
export type SearchUsersReply = Static<typeof SearchUsersReply>

/** events.user.deleted: a user's profile, phone and WeChat identity were erased. Once per user. */
export const UserDeletedEvent = Type.Object({
  id: Type.String({ description: 'Event id, also the Nats-Msg-Id' }),
  userId: Uuid,
  deletedAt: Time
})
export type UserDeletedEvent = Static<typeof UserDeletedEvent>
