import type { Tokens, WxLike } from './types'

/** The token pair in wx storage, so the next launch signs in with a refresh instead of wx.login. */
export class TokenStore {
  constructor (private readonly wx: WxLike, private readonly key: string) {}

  get (): Tokens | undefined {
    let v: unknown
    try { v = this.wx.getStorageSync(this.key) } catch { return undefined }
    if (typeof v !== 'object' || v === null) return undefined
    const t = v as Partial<Tokens>
    if (typeof t.accessToken !== 'string' || typeof t.refreshToken !== 'string' || typeof t.expiresAt !== 'number') return undefined
    return { accessToken: t.accessToken, refreshToken: t.refreshToken, expiresAt: t.expiresAt }
  }

  save (pair: { accessToken: string, refreshToken: string, expiresIn: number }): Tokens {
    const t: Tokens = { accessToken: pair.accessToken, refreshToken: pair.refreshToken, expiresAt: Date.now() + pair.expiresIn * 1000 }
    this.wx.setStorageSync(this.key, t)
    return t
  }

  clear (): void {
    try { this.wx.removeStorageSync(this.key) } catch { /* nothing stored */ }
  }
}
