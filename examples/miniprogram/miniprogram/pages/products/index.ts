import type { AppOption } from '../../app'
import type { Product } from '../../lib/wxmp-sdk/index'
import { describe } from '../errors'

Component({
  data: { products: [] as Array<Product & { yuan: string }>, error: '' },
  methods: {
    async onLoad () {
      try {
        const products = await getApp<AppOption>().api.products()
        this.setData({ products: products.map((p) => ({ ...p, yuan: (p.price / 100).toFixed(2) })) })
      } catch (err) {
        this.setData({ error: describe(err) })
      }
    },
    buy (e: WechatMiniprogram.TouchEvent) {
      wx.navigateTo({ url: `/pages/order/index?productId=${encodeURIComponent(String(e.currentTarget.dataset.id))}` })
    }
  }
})
