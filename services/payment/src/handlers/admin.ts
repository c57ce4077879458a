import { Contracts } from '@wxmp/contracts'
import { endpoint } from '@wxmp/nats'
import type { AdminOrders } from '../domain/admin-orders.js'
import type { OrderClosing } from '../domain/order-close.js'
import type { RefundRequests } from '../domain/refund-requests.js'
import type { Refunds } from '../domain/refunds.js'
import type { Shipping } from '../domain/shipping.js'
import { requireMoneyStepUp, requireStaff } from '../domain/staff.js'

export interface AdminHandlers {
  adminOrders: AdminOrders
  refundRequests: RefundRequests
  refunds: Refunds
  shipping: Shipping
  closing: OrderClosing
  /** STEP_UP_MONEY_S: how recent the TOTP of a money action must be. */
  stepUpMoneySeconds: number
}

/**
 * The staff API (`payment.admin.*`). The gateway admits only staff tokens to these routes; each endpoint checks the
 * forwarded role again (and, for money, the TOTP's age), so a request that reaches NATS some other way is refused.
 */
export function adminEndpoints (h: AdminHandlers) {
  const money = (trace: Parameters<typeof requireStaff>[0]) => {
    const actor = requireStaff(trace)
    requireMoneyStepUp(trace, h.stepUpMoneySeconds)
    return actor
  }
  return [
    endpoint(Contracts.payment.adminSearchOrders, async (input, ctx) => { requireStaff(ctx.trace); return await h.adminOrders.search(input) }),
    endpoint(Contracts.payment.adminGetOrder, async (input, ctx) => { requireStaff(ctx.trace); return await h.adminOrders.detail(input.id) }),
    endpoint(Contracts.payment.adminApproveRefund, async (input, ctx) => await h.refundRequests.approve(money(ctx.trace), input.requestId, ctx.trace, ctx.log)),
    endpoint(Contracts.payment.adminDeclineRefund, async (input, ctx) => await h.refundRequests.decline(requireStaff(ctx.trace), input.requestId, input.reason, ctx.trace, ctx.log)),
    endpoint(Contracts.payment.refundOrder, async (input, ctx) => await h.refunds.request(money(ctx.trace), input, ctx.trace, ctx.log)),
    endpoint(Contracts.payment.shipOrder, async (input, ctx) => {
      const actor = requireStaff(ctx.trace)
      return await h.shipping.ship(input, ctx.log, ctx.trace, actor)
    }),
    endpoint(Contracts.payment.adminCloseOrder, async (input, ctx) => await h.closing.close(input.id, { staff: money(ctx.trace) }, ctx.trace, ctx.log))
  ]
}
