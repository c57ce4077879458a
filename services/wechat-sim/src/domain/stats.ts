import type { Endpoint } from './faults.js'

export interface PayCall { endpoint: Endpoint, bodySha256: string, nonce?: string, status: number }

/** Counters a test reads to see what the backend actually asked of WeChat. */
export class Stats {
  calls: Partial<Record<Endpoint, number>> = {}
  /** stable_token calls that handed out a new token. */
  stableTokensIssued = 0
  /** JSAPI prepay calls per out_trade_no. */
  prepay: Record<string, number> = {}
  /** upload_shipping_info calls the platform carried out, per transaction_id (answered or not). */
  shippingUploads: Record<string, number> = {}
  /** The latest signed Pay calls, oldest first (at most 500). */
  payCalls: PayCall[] = []

  count (endpoint: Endpoint): void {
    this.calls[endpoint] = (this.calls[endpoint] ?? 0) + 1
  }

  payCall (call: PayCall): void {
    this.payCalls.push(call)
    if (this.payCalls.length > 500) this.payCalls.shift()
  }

  reset (): void {
    this.calls = {}
    this.stableTokensIssued = 0
    this.prepay = {}
    this.shippingUploads = {}
    this.payCalls = []
  }
}
