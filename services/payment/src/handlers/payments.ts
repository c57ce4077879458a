import { Errors } from '@wxmp/core'
import {
  CreateOrderRequest, GetOrderRequest, ListOrdersRequest, ListProductsRequest, RefundOrderRequest, Subjects,
  type CreateOrderReply, type NotifyReply, type Order, type OrderPage, type Product, type RefundOrderReply
} from '@wxmp/contracts'
import { endpoint, type HandlerContext } from '@wxmp/nats'
import type { Catalog } from '../domain/catalog.js'
import type { Checkout } from '../domain/checkout.js'
import type { OrderQueries } from '../domain/orders.js'
import type { Refunds } from '../domain/refunds.js'
import type { Settlement } from '../domain/notifications.js'

function callerId (ctx: HandlerContext): string {
  if (ctx.trace.userId === undefined) throw new Errors.Unauthenticated('Sign in first')
  return ctx.trace.userId
}

export interface PaymentHandlers {
  catalog: Catalog
  checkout: Checkout
  orders: OrderQueries
  refunds: Refunds
  settlement: Settlement
  /** Publish the outbox now: an event was just committed. */
  kick: () => void
}

/** The payment service's NATS API. */
export function paymentEndpoints (h: PaymentHandlers) {
  return [
    endpoint({
      subject: Subjects.payment.listProducts,
      input: ListProductsRequest,
      handler: async (): Promise<Product[]> => await h.catalog.list()
    }),
    endpoint({
      subject: Subjects.payment.createOrder,
      input: CreateOrderRequest,
      handler: async (input, ctx): Promise<CreateOrderReply> => await h.checkout.create(callerId(ctx), input, ctx.trace, ctx.log)
    }),
    endpoint({
      subject: Subjects.payment.listOrders,
      input: ListOrdersRequest,
      handler: async (input, ctx): Promise<OrderPage> => await h.orders.list(callerId(ctx), input.limit ?? 20, input.cursor)
    }),
    endpoint({
      subject: Subjects.payment.getOrder,
      input: GetOrderRequest,
      handler: async (input, ctx): Promise<Order> => await h.orders.get(callerId(ctx), input.id)
    }),
    endpoint({
      subject: Subjects.payment.refundOrder,
      input: RefundOrderRequest,
      handler: async (input, ctx): Promise<RefundOrderReply> => {
        try {
          return await h.refunds.request(callerId(ctx), input, ctx.trace, ctx.log)
        } finally {
          h.kick()
        }
      }
    }),
    // Raw: the signature covers the exact bytes, so there is no JSON input schema; verification is the schema.
    endpoint({
      subject: Subjects.payment.wechatNotify,
      handler: async (_input, ctx): Promise<NotifyReply> => {
        const reply = await h.settlement.notification(ctx.raw, ctx.headers, ctx.trace, ctx.log)
        if (!reply.duplicate) h.kick()
        return reply
      }
    })
  ]
}
