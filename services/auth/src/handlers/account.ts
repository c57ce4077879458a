import { assertRole, assertStepUp } from '@wxmp/core'
import { Contracts } from '@wxmp/contracts'
import { endpoint, type HandlerContext } from '@wxmp/nats'
import type { AccountRights } from '../domain/account-rights.js'
import { caller } from './auth.js'

/**
 * A staff caller. The gateway refuses lower roles at the edge (its table's `role` column); this checks the role it
 * forwarded again, as auth's other admin subjects do, so a subject reached some other way is no back door.
 */
function staff (ctx: HandlerContext): string {
  const { userId } = caller(ctx)
  assertRole('staff', ctx.trace)
  return userId
}

/** The session list, ending one session, account deletion, and staff's user search, disable and enable. */
export function accountEndpoints (rights: AccountRights, opts: { stepUpMoneyS: number }) {
  return [
    endpoint(Contracts.auth.sessions, async (_input, ctx) => {
      const { userId, sessionId } = caller(ctx)
      return { sessions: await rights.listSessions(userId, sessionId) }
    }),
    endpoint(Contracts.auth.revokeSession, async (input, ctx) => {
      const { userId } = caller(ctx)
      const reply = await rights.revokeSession(userId, input.sessionId, ctx.trace)
      ctx.log.info({ userId, revokedSessionId: input.sessionId }, 'session ended from the session list')
      return reply
    }),
    endpoint(Contracts.auth.deleteAccount, async (_input, ctx) => {
      const { userId } = caller(ctx)
      return await rights.deleteAccount(userId, userId, 'user', ctx.trace)
    }),
    endpoint(Contracts.auth.findUsers, async (input, ctx) => {
      staff(ctx)
      return { users: await rights.findUsers(input.q, ctx.trace) }
    }),
    endpoint(Contracts.auth.disableUser, async (input, ctx) => await rights.disable(staff(ctx), input.userId, ctx.trace)),
    endpoint(Contracts.auth.enableUser, async (input, ctx) => {
      const actorId = staff(ctx)
      // Giving access back is checked like the edge's `money` step-up: a recent TOTP sign-in.
      assertStepUp('money', ctx.trace, opts.stepUpMoneyS)
      return await rights.enable(actorId, input.userId, ctx.trace)
    })
  ]
}
