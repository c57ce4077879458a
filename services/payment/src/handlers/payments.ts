import { Errors } from '@wxmp/core'
import { Contracts } from '@wxmp/contracts'
import { endpoint, type HandlerContext } from '@wxmp/nats'
import type { Catalog } from '../domain/catalog.js'
import type { Checkout } from '../domain/checkout.js'
import type { OrderQueries } from '../domain/orders.js'
import type { PayParamsIssuer } from '../domain/pay-params.js'
import type { OrderClosing } from '../domain/order-close.js'
import type { RefundRequests } from '../domain/refund-requests.js'
import type { Settlement } from '../domain/notifications.js'

function callerId (ctx: HandlerContext): string {
  if (ctx.trace.userId === undefined) throw new Errors.Unauthenticated('Sign in first')
  return ctx.trace.userId
}

export interface PaymentHandlers {
  catalog: Catalog
  checkout: Checkout
  orders: OrderQueries
  payParams: PayParamsIssuer
  refundRequests: RefundRequests
  closing: OrderClosing
  settlement: Settlement
}

/** The payment service's NATS API. */
export function paymentEndpoints (h: PaymentHandlers) {
  return [
    endpoint(Contracts.payment.listProducts, async () => await h.catalog.list()),
    endpoint(Contracts.payment.createOrder, async (input, ctx) => await h.checkout.create(callerId(ctx), input, ctx.trace, ctx.log)),
    endpoint(Contracts.payment.listOrders, async (input, ctx) => await h.orders.list(callerId(ctx), input.limit ?? 20, input.cursor)),
    endpoint(Contracts.payment.getOrder, async (input, ctx) => await h.orders.get(callerId(ctx), input.id)),
    endpoint(Contracts.payment.payParams, async (input, ctx) => await h.payParams.issue(callerId(ctx), input.id, ctx.log, ctx.trace)),
    // Buyers ask for refunds; staff decide (handlers/admin.ts). Nothing reaches WeChat Pay until approved.
    endpoint(Contracts.payment.requestRefund, async (input, ctx) => await h.refundRequests.create(callerId(ctx), input, ctx.trace, ctx.log)),
    endpoint(Contracts.payment.cancelOrder, async (input, ctx) => await h.closing.close(input.id, { buyer: callerId(ctx) }, ctx.trace, ctx.log)),
    // Raw: the signature covers the exact bytes, so there is no JSON input schema; verification is the schema.
    endpoint(Contracts.payment.wechatNotify, async (raw, ctx) => await h.settlement.notification(raw, ctx.headers, ctx.trace, ctx.log))
  ]
}
