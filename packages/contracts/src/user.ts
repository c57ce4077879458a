import { Type, type Static } from '@sinclair/typebox'

/** A profile as a client sees it: the phone masked, never the openid. */
export const UserProfile = Type.Object({
  id: Type.String({ format: 'uuid' }),
  nickname: Type.Union([Type.String(), Type.Null()]),
  avatarUrl: Type.Union([Type.String(), Type.Null()]),
  phone: Type.Union([Type.String({ description: 'Masked, e.g. 138****8000' }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' })
})
export type UserProfile = Static<typeof UserProfile>

const AppId = Type.String({ pattern: '^wx[0-9a-f]{16}$' })
const OpenId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' })

/** user.ensure: find or create the user of a WeChat identity (appid + openid). */
export const EnsureUserRequest = Type.Object({
  appid: AppId,
  openid: OpenId,
  unionid: Type.Optional(OpenId)
}, { additionalProperties: false })
export type EnsureUserRequest = Static<typeof EnsureUserRequest>

export const EnsureUserResponse = Type.Object({ user: UserProfile, created: Type.Boolean() })
export type EnsureUserResponse = Static<typeof EnsureUserResponse>

/** user.get: a profile by id, for other services. */
export const GetUserRequest = Type.Object({ userId: Type.String({ format: 'uuid' }) }, { additionalProperties: false })

/** user.update (PATCH /v1/users/me): only what a user may change. */
export const UpdateProfileRequest = Type.Object({
  nickname: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  avatarUrl: Type.Optional(Type.Union([Type.String({ format: 'uri', maxLength: 1024, pattern: '^https://' }), Type.Null()]))
}, { additionalProperties: false, minProperties: 1 })
export type UpdateProfileRequest = Static<typeof UpdateProfileRequest>

/** user.setPhone: the phone WeChat confirmed for the caller (auth calls it after getPhoneNumber). */
export const SetPhoneRequest = Type.Object({
  userId: Type.String({ format: 'uuid' }),
  phone: Type.String({ pattern: '^\\+?[0-9]{5,20}$' })
}, { additionalProperties: false })

/**
 * user.identity (internal, never routed by the gateway): the WeChat identity of a user, e.g. the payer openid of a
 * JSAPI payment. A user without one (a password-only account) is a 404.
 */
export const UserIdentityRequest = Type.Object({ userId: Type.String({ format: 'uuid' }) }, { additionalProperties: false })
export type UserIdentityRequest = Static<typeof UserIdentityRequest>

export const UserIdentity = Type.Object({ appid: AppId, openid: OpenId })
export type UserIdentity = Static<typeof UserIdentity>

/** events.user.created */
export const UserCreatedEvent = Type.Object({
  id: Type.String({ description: 'Event id, also the Nats-Msg-Id' }),
  userId: Type.String({ format: 'uuid' }),
  appid: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' })
})
export type UserCreatedEvent = Static<typeof UserCreatedEvent>
