import { Errors, businessCounter } from '@wxmp/core'
import { Contracts, type UserProfile } from '@wxmp/contracts'
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
export function userEndpoints (users: Users) {
  return [
    endpoint(Contracts.user.ensure, async (input, ctx) => {
      const { profile, created } = await users.ensure(input, ctx.trace)
      if (created) {
        ctx.log.info({ userId: profile.id }, 'user created')
        usersCreated.inc({ kind: 'wechat' })
      }
      return { user: profile, created }
    }),
    endpoint(Contracts.user.create, async (_input, ctx) => {
      const profile = await users.create(ctx.trace)
      ctx.log.info({ userId: profile.id }, 'user created')
      usersCreated.inc({ kind: 'password' })
      return profile
    }),
    endpoint(Contracts.user.get, async (input) => found(await users.get(input.userId))),
    endpoint(Contracts.user.identity, async (input) => {
      const identity = await users.identity(input.userId)
      if (identity === undefined) throw new Errors.NotFound('User has no WeChat identity')
      return identity
    }),
    endpoint(Contracts.user.me, async (_input, ctx) => found(await users.get(callerId(ctx)))),
    endpoint(Contracts.user.update, async (input, ctx) => {
      const patch: { nickname?: string, avatarUrl?: string | null } = {}
      if (input.nickname !== undefined) patch.nickname = input.nickname
      if (input.avatarUrl !== undefined) patch.avatarUrl = input.avatarUrl
      return found(await users.update(callerId(ctx), patch))
    }),
    endpoint(Contracts.user.erase, async (input, ctx) => {
      const result = await users.erase(input, ctx.trace)
      if (result === undefined) throw new Errors.NotFound('User not found')
      if (result.erased) ctx.log.info({ userId: result.userId }, 'user erased')
      return result
    }),
    endpoint(Contracts.user.search, async (input) => ({ users: await users.search(input.q.trim()) })),
    endpoint(Contracts.user.setPhone, async (input, ctx) => {
      const profile = found(await users.setPhone(input.userId, input.phone))
      ctx.log.info({ userId: input.userId, phone: profile.phone }, 'phone bound')
      return profile
    })
  ]
}
