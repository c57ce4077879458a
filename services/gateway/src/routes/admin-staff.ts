import type { FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Contracts, CreateStaffRequest, Role, StaffAccount, Subjects } from '@wxmp/contracts'
import { routeOf } from '../edge-routes.js'
import { forward } from './forward.js'

const tags = ['admin']

/** /v1/admin/staff: admins create staff and admin accounts and change roles (no route can create the first admin). */
export default async function adminStaffRoutes (app: FastifyInstance): Promise<void> {
  forward(app, {
    route: 'POST /v1/admin/staff',
    subject: Subjects.auth.createStaff,
    tags,
    summary: 'Create a staff or admin password account (it enrols TOTP before it acts as staff)',
    body: CreateStaffRequest,
    response: StaffAccount,
    status: 201
  })
  // Changing a role ends the account's sessions: this gateway applies the revocations before it answers.
  app.withTypeProvider<TypeBoxTypeProvider>().route({
    ...routeOf('PUT /v1/admin/staff/:userId/role'),
    schema: {
      summary: 'Change an account\'s role; its sessions end at once',
      tags,
      params: Type.Object({ userId: Type.String({ format: 'uuid' }) }),
      body: Type.Object({ role: Role }, { additionalProperties: false }),
      response: { 200: StaffAccount }
    },
    handler: async (request) => {
      const { data } = await request.callService(Contracts.auth.setRole, { userId: request.params.userId, role: request.body.role })
      const { revocations, ...account } = data
      app.edgeAuth.revocations.apply(revocations)
      return account
    }
  })
}
