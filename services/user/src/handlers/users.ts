import { Errors, businessCounter } from '@wxmp/core'
import {
  CreateUserRequest, EnsureUserRequest, GetUserRequest, MeRequest, SetPhoneRequest, Subjects, UpdateProfileRequest, UserIdentityRequest,
  type EnsureUserResponse, type UserIdentity, type UserProfile
} from '@wxmp/contracts'
import { endpoint, type HandlerContext } from '@wxmp/nats'
import type { Users } from '../domain/users.js'

const usersCreated = businessCounter('users_created_total', 'Users created, by kind of identity', ['kind'] as const)

function callerId (ctx: HandlerContext): string {
  if (ctx.trace.userId === undefined) throw new Errors.Unauthenticated('Sign in first')
  return ctx.trace.userId
}

function found (profile: UserProfile | undefined): UserProfile {
  if (profile === undefined) throw new Errors.NotFound('User not found')
  return profile
}

/** The user service's NATS API. */
export function userEndpoints (users: Users, onCreated: () => void) {
  return [
    endpoint({
      subject: Subjects.user.ensure,
      input: EnsureUserRequest,
      handler: async (input, ctx): Promise<EnsureUserResponse> => {
        const { profile, created } = await users.ensure(input, ctx.trace)
        if (created) {
          ctx.log.info({ userId: profile.id }, 'user created')
          usersCreated.inc({ kind: 'wechat' })
          onCreated()
        }
        return { user: profile, created }
      }
    }),
    endpoint({
      subject: Subjects.user.create,
      input: CreateUserRequest,
      handler: async (_input, ctx): Promise<UserProfile> => {
        const profile = await users.create(ctx.trace)
        ctx.log.info({ userId: profile.id }, 'user created')
        usersCreated.inc({ kind: 'password' })
        onCreated()
        return profile
      }
    }),
    endpoint({
      subject: Subjects.user.get,
      input: GetUserRequest,
      handler: async (input): Promise<UserProfile> => found(await users.get(input.userId))
    }),
    endpoint({
      subject: Subjects.user.identity,
      input: UserIdentityRequest,
      handler: async (input): Promise<UserIdentity> => {
        const identity = await users.identity(input.userId)
        if (identity === undefined) throw new Errors.NotFound('User has no WeChat identity')
        return identity
      }
    }),
    endpoint({
      subject: Subjects.user.me,
      input: MeRequest,
      handler: async (_input, ctx): Promise<UserProfile> => found(await users.get(callerId(ctx)))
    }),
    endpoint({
      subject: Subjects.user.update,
      input: UpdateProfileRequest,
      handler: async (input, ctx): Promise<UserProfile> => {
        const patch: { nickname?: string, avatarUrl?: string | null } = {}
        if (input.nickname !== undefined) patch.nickname = input.nickname
        if (input.avatarUrl !== undefined) patch.avatarUrl = input.avatarUrl
        return found(await users.update(callerId(ctx), patch))
      }
    }),
    endpoint({
      subject: Subjects.user.setPhone,
      input: SetPhoneRequest,
      handler: async (input, ctx): Promise<UserProfile> => {
        const profile = found(await users.setPhone(input.userId, input.phone))
        ctx.log.info({ userId: input.userId, phone: profile.phone }, 'phone bound')
        return profile
      }
    })
  ]
}
