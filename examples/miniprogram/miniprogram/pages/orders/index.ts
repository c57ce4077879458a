import type { AppOption } from '../../app'
import type { Order } from '../../lib/wxmp-sdk/index'
import { describe } from '../errors'

Component({
  data: { orders: [] as Order[], sheet: '', error: '' },
  methods: {
    async onLoad () {
      try {
        const page = await getApp<AppOption>().api.orders()
        this.setData({ orders: page.orders })
      } catch (err) {
        this.setData({ error: describe(err) })
      }
    },
    /**
     * Pays an unpaid order later. A listed order has no payParams, and the checkout's may be past the two hours a
     * prepay_id lives: the SDK gets fresh ones from the backend before the sheet opens.
     */
    async pay (e: WechatMiniprogram.BaseEvent<Record<string, never>, { id: string }>) {
      const id = e.currentTarget.dataset.id
      try {
        const outcome = await getApp<AppOption>().api.requestPayment({ id })
        this.setData({ orders: this.data.orders.map((o) => o.id === id ? outcome.order : o), sheet: outcome.errMsg, error: '' })
      } catch (err) {
        this.setData({ error: describe(err) })
      }
    }
  }
})
