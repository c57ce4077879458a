import type { AppOption } from '../../app'
import type { Order } from '../../lib/wxmp-sdk/index'
import { describe } from '../errors'

Component({
  data: { orders: [] as Order[], error: '' },
  methods: {
    async onLoad () {
      try {
        const page = await getApp<AppOption>().api.orders()
        this.setData({ orders: page.orders })
      } catch (err) {
        this.setData({ error: describe(err) })
      }
    }
  }
})
