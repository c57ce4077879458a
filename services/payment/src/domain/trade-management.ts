import type { Log } from '@wxmp/core'
import type { ShippingClient } from '@wxmp/wechat'

/** What /readyz shows under `details.tradeManaged`: whether WeChat holds this mini-program's payments until shipping. */
export interface TradeManagedDetail {
  /** is_trade_managed's answer; `unknown` until it was read (or while it cannot be). */
  isTradeManaged: boolean | 'unknown'
  reason: string
  /** The page WeChat's shipping and settlement messages open (set_msg_jump_path), when configured. */
  msgJumpPath: { path: string, state: 'set' | 'pending' | 'failed' | 'not_managed', reason?: string } | null
}

/** While is_trade_managed cannot be read (or set_msg_jump_path failed) it is tried again this often, at most. */
const RETRY_UNKNOWN_MS = 60_000

const describe = (err: unknown): string => {
  const e = err as { code?: string, message?: string, details?: { errcode?: number, errmsg?: string } }
  const errcode = e.details?.errcode
  return `${e.code ?? 'error'}${errcode === undefined ? '' : ` (errcode ${errcode}${e.details?.errmsg === undefined || e.details.errmsg === '' ? '' : `: ${e.details.errmsg}`})`}`
}

/**
 * Whether WeChat's order shipping management (发货信息管理) covers the mini-program, read with is_trade_managed at
 * boot and again every `checkSeconds` (a mini-program is brought under it by WeChat, not by us), sooner while it is
 * unknown. It never decides readiness: payments are taken and shipping is reported either way, the answer only tells
 * an operator whether the money is frozen until shipping is confirmed. When managed and a jump path is configured,
 * set_msg_jump_path points WeChat's shipping messages at that page (WeChat appends transaction_id, merchant_id and
 * merchant_trade_no as query parameters); set again after each restart, since it is a setting that can change.
 */
export class TradeManagement {
  private managed: boolean | undefined
  private reason = 'not checked yet'
  private jump: TradeManagedDetail['msgJumpPath']
  private timer?: NodeJS.Timeout
  private running?: Promise<void>
  private stopped = false

  constructor (private readonly deps: {
    client: ShippingClient
    appid: string
    log: Log
    /** SHIPPING_MSG_JUMP_PATH; '' for none. */
    jumpPath: string
    checkSeconds: number
  }) {
    this.jump = deps.jumpPath === '' ? null : { path: deps.jumpPath, state: 'pending' }
  }

  /** 1 managed, 0 not, -1 unknown: the gauge payment_wechat_trade_managed. */
  get gauge (): number {
    return this.managed === undefined ? -1 : this.managed ? 1 : 0
  }

  detail (): TradeManagedDetail {
    return { isTradeManaged: this.managed ?? 'unknown', reason: this.reason, msgJumpPath: this.jump === null ? null : { ...this.jump } }
  }

  /** Checks now in the background, then on schedule; never blocks the boot. */
  start (): void {
    this.tick()
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running
  }

  /** One check (and, if due, setting the jump path); resolves when done. */
  async check (): Promise<void> {
    const { client, appid, log } = this.deps
    try {
      const managed = await client.isTradeManaged(appid)
      if (managed !== this.managed) {
        log.info({ tradeManaged: managed }, managed
          ? 'WeChat order shipping management is on: payments stay frozen until shipping is reported and receipt confirmed'
          : 'WeChat order shipping management is off for this mini-program: shipping is reported anyway')
      }
      this.managed = managed
      this.reason = managed
        ? 'is_trade_managed: true; payments are frozen until shipping is reported and receipt is confirmed'
        : 'is_trade_managed: false; payments settle without shipping reports (they are sent anyway)'
    } catch (err) {
      // A later check that fails leaves the last answer standing: the mini-program's status did not change with it.
      if (this.managed === undefined) this.reason = `is_trade_managed could not be read: ${describe(err)}`
      log.warn({ err }, 'is_trade_managed could not be read; shipping is reported anyway, and it is read again later')
      return
    }
    if (this.jump === null || this.jump.state === 'set') return
    if (this.managed !== true) {
      this.jump = { path: this.jump.path, state: 'not_managed', reason: 'set once the mini-program is under order shipping management' }
      return
    }
    try {
      await client.setMsgJumpPath(this.jump.path)
      this.jump = { path: this.jump.path, state: 'set' }
      log.info({ path: this.jump.path }, 'set_msg_jump_path: WeChat\'s shipping messages open this page')
    } catch (err) {
      this.jump = { path: this.jump.path, state: 'failed', reason: describe(err) }
      log.warn({ err, path: this.jump.path }, 'set_msg_jump_path failed; tried again later')
    }
  }

  private tick (): void {
    if (this.stopped) return
    this.running = this.check().finally(() => {
      this.running = undefined
      if (this.stopped) return
      const again = this.managed === undefined || this.jump?.state === 'failed'
      const ms = again ? Math.min(RETRY_UNKNOWN_MS, this.deps.checkSeconds * 1000) : this.deps.checkSeconds * 1000
      this.timer = setTimeout(() => { this.tick() }, ms)
      this.timer.unref()
    })
  }
}
