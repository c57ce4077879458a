import type { FastifyInstance } from 'fastify'
import { AccountDeletedResponse, Contracts, Subjects, UpdateProfileRequest, UserProfile } from '@wxmp/contracts'
import { forward } from './forward.js'
import { revoking } from './revoking.js'

const tags = ['users']

/** /v1/users/me: the caller's own profile. */
export default async function userRoutes (app: FastifyInstance): Promise<void> {
  forward(app, { route: 'GET /v1/users/me', subject: Subjects.user.me, tags, summary: 'The caller\'s profile (phone masked)', response: UserProfile, payload: () => ({}) })
  // PUT for mini-programs, whose wx.request has no PATCH; PATCH for every other client.
  forward(app, { route: 'PUT /v1/users/me', subject: Subjects.user.update, tags, summary: 'Change nickname or avatar URL (the method wx.request has)', body: UpdateProfileRequest, response: UserProfile })
  forward(app, { route: 'PATCH /v1/users/me', subject: Subjects.user.update, tags, summary: 'Change nickname or avatar URL', body: UpdateProfileRequest, response: UserProfile })
  // auth runs the deletion: it erases the profile through the user service and ends every session, so this gateway
  // can apply the revocations before it answers.
  revoking(app, {
    route: 'DELETE /v1/users/me',
    schema: {
      summary: 'Delete the account: profile, phone and WeChat link erased, every session ended at once',
      description: 'Needs a fresh sign-in (401 AUTH_REAUTH_REQUIRED otherwise). Orders and payments are kept for accounting under the account id, which then names nobody; a later wx.login of the same WeChat user makes a new account.',
      tags,
      response: { 200: AccountDeletedResponse }
    },
    call: async (request) => (await request.callService(Contracts.auth.deleteAccount, {})).data,
    answer: (data) => ({ deleted: data.deleted, revokedSessions: data.revokedSessions })
  })
}
