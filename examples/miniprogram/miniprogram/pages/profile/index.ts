import type { AppOption } from '../../app'
import { describe } from '../errors'

Component({
  data: { nickname: '', phone: '', draft: '', saved: false, signedOut: false, error: '' },
  methods: {
    async onLoad () {
      try {
        const me = await getApp<AppOption>().api.me()
        this.setData({ nickname: me.nickname ?? '', phone: me.phone ?? '', draft: me.nickname ?? '' })
      } catch (err) {
        this.setData({ error: describe(err) })
      }
    },
    onInput (e: WechatMiniprogram.Input) {
      this.setData({ draft: e.detail.value, saved: false })
    },
    async save () {
      try {
        const me = await getApp<AppOption>().api.updateProfile({ nickname: this.data.draft })
        this.setData({ nickname: me.nickname ?? '', saved: true, error: '' })
      } catch (err) {
        this.setData({ error: describe(err) })
      }
    },
    async logout () {
      try {
        await getApp<AppOption>().api.logout()
        this.setData({ signedOut: true })
      } catch (err) {
        this.setData({ error: describe(err) })
      }
    }
  }
})
