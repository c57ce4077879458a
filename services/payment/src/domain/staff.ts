import type { PoolClient } from 'pg'
import { assertRole, assertStepUp, Errors, type TraceContext } from '@wxmp/core'
import { Events, type AdminAction, type AdminActionEvent, type Role } from '@wxmp/contracts'
import { enqueueEvent } from '@wxmp/service'
import { eventId } from './ids.js'

/** A staff member acting on orders, as the gateway verified them. */
export interface Actor {
  userId: string
  role: Role
}

/**
 * The service's own check of a staff subject (defense in depth: the gateway checks the role first, and only the
 * gateway may send these subjects). No verified user: 401; a role below staff (or none, which is a buyer): 403.
 */
export function requireStaff (trace: TraceContext): Actor {
  if (trace.userId === undefined) throw new Errors.Unauthenticated('Sign in first')
  assertRole('staff', trace)
  return { userId: trace.userId, role: trace.role as Role }
}

/**
 * Money actions also need a fresh second factor: a TOTP (`amr` has `otp`) within `windowSeconds` of now, judged from
 * the token's auth_time as the gateway forwarded it. Anything older or weaker: 401 AUTH_REAUTH_REQUIRED.
 */
export function requireMoneyStepUp (trace: TraceContext, windowSeconds: number): void {
  assertStepUp('money', trace, windowSeconds)
}

const ADMIN_EVENTS = {
  refund_approved: Events.adminRefundApproved,
  refund_declined: Events.adminRefundDeclined,
  refund_issued: Events.adminRefundIssued,
  order_shipped: Events.adminOrderShipped,
  order_closed: Events.adminOrderClosed
} as const satisfies Record<AdminAction, unknown>

/**
 * Writes one events.admin.<action> to the outbox in the caller's transaction (the one that made the change), so the
 * audit trail has the action exactly when it happened. `subjectId` names what was acted on (a request, a refund, an
 * order): the event id derives from it, so the one action has one event even if written twice.
 */
export async function audit (
  client: PoolClient,
  action: AdminAction,
  subjectId: string,
  actor: Actor,
  fields: Omit<AdminActionEvent, 'id' | 'action' | 'actorId' | 'actorRole' | 'at'>,
  trace?: TraceContext
): Promise<void> {
  await enqueueEvent(client, ADMIN_EVENTS[action], {
    action,
    actorId: actor.userId,
    actorRole: actor.role,
    ...fields,
    at: new Date().toISOString()
  }, { id: eventId(`admin.${action}`, subjectId), ...(trace === undefined ? {} : { trace }) })
}
