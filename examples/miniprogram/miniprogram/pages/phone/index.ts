import type { AppOption } from '../../app'
import { describe } from '../errors'

Component({
  data: { phone: '', error: '' },
  methods: {
    /** The getPhoneNumber button's event: its code (base library 2.21.2+) goes to the backend, never the number. */
    async onPhone (e: { detail: { code?: string, errMsg?: string } }) {
      if (e.detail.code === undefined) { this.setData({ error: e.detail.errMsg ?? 'getPhoneNumber:fail' }); return }
      try {
        const { phone } = await getApp<AppOption>().api.bindPhone(e.detail.code)
        this.setData({ phone, error: '' })
      } catch (err) {
        this.setData({ error: describe(err) })
      }
    }
  }
})
