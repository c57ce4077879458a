import type { AppOption } from '../../app'
import type { CreatedOrder } from '../../lib/wxmp-sdk/index'
import { describe } from '../errors'

let placed: CreatedOrder | undefined

Component({
  data: { orderId: '', amount: '', status: '', sheet: '', error: '' },
  methods: {
    /** Places the order once; a retry after a lost answer reuses the Idempotency-Key inside the SDK. */
    async onLoad (query: Record<string, string | undefined>) {
      try {
        placed = await getApp<AppOption>().api.createOrder({ productId: String(query.productId), quantity: Number(query.quantity ?? 1) })
        this.setData({ orderId: placed.id, amount: (placed.amount / 100).toFixed(2), status: placed.status })
      } catch (err) {
        this.setData({ error: describe(err) })
      }
    },
    /** The sheet's answer is shown, but the status shown is the backend's: fail cancel does not prove no payment. */
    async pay () {
      if (placed === undefined) return
      try {
        const outcome = await getApp<AppOption>().api.requestPayment(placed)
        this.setData({ status: outcome.order.status, sheet: outcome.errMsg, error: '' })
      } catch (err) {
        this.setData({ error: describe(err) })
      }
    }
  }
})
