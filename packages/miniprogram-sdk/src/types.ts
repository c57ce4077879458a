/** The wx APIs the SDK uses; the global `wx` by default, any object of this shape in tests or other runtimes. */
export type WxLike = Pick<WechatMiniprogram.Wx, 'request' | 'login' | 'requestPayment' | 'getStorageSync' | 'setStorageSync' | 'removeStorageSync'> &
  Partial<Pick<WechatMiniprogram.Wx, 'requestVirtualPayment'>>

/** The methods wx.request has: OPTIONS, GET, HEAD, POST, PUT, DELETE, TRACE, CONNECT (no PATCH). */
export type Method = NonNullable<WechatMiniprogram.RequestOption['method']>

export interface UserProfile {
  id: string
  nickname: string | null
  avatarUrl: string | null
  /** Masked, e.g. 138****8000. */
  phone: string | null
  [key: string]: unknown
}

export interface Tokens {
  accessToken: string
  refreshToken: string
  /** Epoch ms after which the access token is treated as expired. */
  expiresAt: number
}

export interface LoginResult extends Tokens {
  /** The profile, when this was a wx.login; absent after a refresh. */
  user?: UserProfile
}

/** One of the user's live sessions (GET /v1/auth/sessions). */
export interface SessionInfo {
  id: string
  /** The session of this client. */
  current: boolean
  /** `wechat` or `password`. */
  method: string
  createdAt: string
  lastRefreshedAt: string | null
  /** The client address and user agent at sign-in. */
  ip: string | null
  userAgent: string | null
}

export interface Product { id: string, name: string, price: number }

export type OrderStatus = 'PENDING' | 'PAID' | 'REFUND_REQUESTED' | 'REFUNDING' | 'REFUNDED' | 'PARTIALLY_REFUNDED' | 'CLOSED' | 'SHIPPED' | 'CONFIRMED' | 'SETTLED'

export interface Order {
  id: string
  outTradeNo: string
  status: OrderStatus
  /** In fen. */
  amount: number
  productId: string
  quantity: number
  createdAt: string
  [key: string]: unknown
}

/** What wx.requestPayment takes, signed by the merchant. */
export interface PayParams {
  appId: string
  timeStamp: string
  nonceStr: string
  package: string
  signType: 'RSA'
  paySign: string
}

/**
 * What wx.requestVirtualPayment takes (virtual goods, WeChat's virtual payment): signData is passed on exactly as
 * received, never parsed and re-serialized, since both signatures cover its bytes.
 */
export interface VirtualPayParams {
  mode: 'short_series_goods'
  signData: string
  paySig: string
  signature: string
}

/** A placed order: payParams on the JSAPI rail (physical goods), virtualPayment on the virtual rail. */
export interface CreatedOrder extends Order { payParams?: PayParams, virtualPayment?: VirtualPayParams }

export interface OrderPage { orders: Order[], nextCursor: string | null }

/** A refund the buyer asked for; the merchant approves it (a refund is made) or declines it (with a reason). */
export interface RefundRequest {
  id: string
  orderId: string
  amount: number
  reason: string
  status: 'REQUESTED' | 'APPROVED' | 'DECLINED'
  declineReason: string | null
  refundId: string | null
  createdAt: string
  decidedAt: string | null
}

export interface PaymentOutcome {
  /** The order as the backend has it after the payment sheet closed: the only proof of payment. */
  order: Order
  paid: boolean
  /** wx.requestPayment's errMsg, e.g. `requestPayment:ok` or `requestPayment:fail cancel`. */
  errMsg: string
}
