import type { FastifyInstance } from 'fastify'
import { Subjects, UpdateProfileRequest, UserProfile } from '@wxmp/contracts'
import { forward } from './forward.js'

const tags = ['users']

/** /v1/users/me: the caller's own profile. */
export default async function userRoutes (app: FastifyInstance): Promise<void> {
  forward(app, { route: 'GET /v1/users/me', subject: Subjects.user.me, tags, summary: 'The caller\'s profile (phone masked)', response: UserProfile, payload: () => ({}) })
  // PUT for mini-programs, whose wx.request has no PATCH; PATCH for every other client.
  forward(app, { route: 'PUT /v1/users/me', subject: Subjects.user.update, tags, summary: 'Change nickname or avatar URL (the method wx.request has)', body: UpdateProfileRequest, response: UserProfile })
  forward(app, { route: 'PATCH /v1/users/me', subject: Subjects.user.update, tags, summary: 'Change nickname or avatar URL', body: UpdateProfileRequest, response: UserProfile })
}
