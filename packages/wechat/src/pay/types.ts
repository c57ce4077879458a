/** A transaction as WeChat Pay returns it (query) and sends it (TRANSACTION.SUCCESS resource); snake_case kept. */
export interface Transaction {
  appid: string
  mchid: string
  out_trade_no: string
  transaction_id?: string
  trade_type?: 'JSAPI' | 'NATIVE' | 'APP' | 'MICROPAY' | 'MWEB' | 'FACEPAY'
  trade_state: 'SUCCESS' | 'REFUND' | 'NOTPAY' | 'CLOSED' | 'REVOKED' | 'USERPAYING' | 'PAYERROR'
  trade_state_desc: string
  bank_type?: string
  attach?: string
  /** RFC 3339 with offset, e.g. 2018-06-08T10:34:56+08:00. */
  success_time?: string
  payer?: { openid: string }
  amount: { total?: number, payer_total?: number, currency: string, payer_currency?: string }
  scene_info?: { device_id?: string }
  promotion_detail?: unknown[]
}

/** A refund as WeChat Pay returns it (apply and query). */
export interface Refund {
  refund_id: string
  out_refund_no: string
  transaction_id: string
  out_trade_no: string
  channel: 'ORIGINAL' | 'BALANCE' | 'OTHER_BALANCE' | 'OTHER_BANKCARD'
  user_received_account: string
  success_time?: string
  create_time: string
  status: 'SUCCESS' | 'CLOSED' | 'PROCESSING' | 'ABNORMAL'
  funds_account?: string
  amount: {
    total: number
    refund: number
    payer_total: number
    payer_refund: number
    settlement_refund?: number
    settlement_total?: number
    discount_refund?: number
    currency: string
    refund_fee?: number
    from?: unknown[]
  }
  promotion_detail?: unknown[]
}

/** A refund as a REFUND.* notification carries it. */
export interface RefundNotice {
  mchid: string
  out_trade_no: string
  transaction_id: string
  out_refund_no: string
  refund_id: string
  refund_status: 'SUCCESS' | 'CLOSED' | 'ABNORMAL'
  success_time?: string
  user_received_account: string
  amount: { total: number, refund: number, payer_total: number, payer_refund: number }
}

/** A verified, decrypted notification. `resource` is the decrypted JSON. */
export interface Notification<R = Record<string, unknown>> {
  id: string
  create_time: string
  event_type: string
  resource_type: string
  summary: string
  resource: R
}

/** What wx.requestPayment takes. */
export interface JsapiPayParams {
  appId: string
  timeStamp: string
  nonceStr: string
  package: string
  signType: 'RSA'
  paySign: string
}
