import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { AdminUserList, Contracts, FindUsersRequest, UserIdParams, UserStatusResponse } from '@wxmp/contracts'
import { routeOf } from '../edge-routes.js'
import { revoking } from './revoking.js'

const tags = ['admin']

/** /v1/admin/users: staff find a user, disable them (every session ended at once) or enable them again. */
export default async function adminUserRoutes (app: FastifyInstance): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().route({
    ...routeOf('GET /v1/admin/users'),
    schema: {
      summary: 'Find users by id, username or phone number (role staff)',
      description: 'At most 20 users; phones are masked. `disabled` and `deleted` say whether the account may sign in and whether it was erased.',
      tags,
      querystring: FindUsersRequest,
      response: { 200: AdminUserList }
    },
    handler: async (request) => (await request.callService(Contracts.auth.findUsers, { q: request.query.q })).data
  })
  revoking(app, {
    route: 'POST /v1/admin/users/:id/disable',
    schema: {
      summary: 'Disable a user: every session ended at once, sign-ins refused with 403 ACCOUNT_DISABLED (role staff)',
      description: 'Repeating it changes nothing. Staff cannot disable themselves (409).',
      tags,
      params: UserIdParams,
      response: { 200: UserStatusResponse }
    },
    call: async (request) => (await request.callService(Contracts.auth.disableUser, { userId: (request.params as UserIdParams).id })).data,
    answer: (data) => ({ userId: data.userId, disabled: data.disabled, revokedSessions: data.revokedSessions })
  })
  app.withTypeProvider<TypeBoxTypeProvider>().route({
    ...routeOf('POST /v1/admin/users/:id/enable'),
    schema: {
      summary: 'Let a disabled user sign in again (role staff, fresh TOTP)',
      description: 'Sessions ended by the disable stay ended.',
      tags,
      params: UserIdParams,
      response: { 200: UserStatusResponse }
    },
    handler: async (request) => {
      const { data } = await request.callService(Contracts.auth.enableUser, { userId: request.params.id })
      return { userId: data.userId, disabled: data.disabled, revokedSessions: data.revokedSessions }
    }
  })
}
