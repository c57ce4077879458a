import type { AppOption } from '../../app'
import { describe } from '../errors'

// Pages use the Component constructor, which WeChat supports for pages and miniprogram-simulate can load.
Component({
  data: { state: 'signing-in', userId: '', nickname: '', error: '' },
  methods: {
    /** First launch: wx.login and the profile; later launches: the stored session, no wx.login. */
    async onLoad () {
      const { api } = getApp<AppOption>()
      try {
        await api.login()
        const me = await api.me()
        this.setData({ state: 'signed-in', userId: me.id, nickname: me.nickname ?? '' })
      } catch (err) {
        this.setData({ state: 'failed', error: describe(err) })
      }
    },
    toProfile () { wx.navigateTo({ url: '/pages/profile/index' }) },
    toProducts () { wx.navigateTo({ url: '/pages/products/index' }) },
    toOrders () { wx.navigateTo({ url: '/pages/orders/index' }) },
    toPhone () { wx.navigateTo({ url: '/pages/phone/index' }) }
  }
})
