/** Request/reply subjects, `<domain>.<verb>`, before the deployment prefix. */
export const Subjects = {
  auth: {
    ping: 'auth.ping',
    jwks: 'auth.jwks',
    wechatLogin: 'auth.wechatLogin',
    refresh: 'auth.refresh',
    logout: 'auth.logout',
    logoutAll: 'auth.logoutAll',
    passwordRegister: 'auth.passwordRegister',
    passwordLogin: 'auth.passwordLogin',
    totpEnroll: 'auth.totpEnroll',
    totpVerify: 'auth.totpVerify',
    bindPhone: 'auth.bindPhone',
    /** The caller's live sessions. */
    sessions: 'auth.sessions',
    /** End one of the caller's own sessions. */
    revokeSession: 'auth.revokeSession',
    /** Erase the caller's account (step-up at the edge) and end every session. */
    deleteAccount: 'auth.deleteAccount',
    /** Staff: users by id, username or phone. */
    findUsers: 'auth.findUsers',
    /** Staff: refuse a user's sign-ins and end their sessions; enable undoes it. */
    disableUser: 'auth.disableUser',
    enableUser: 'auth.enableUser',
    /** Step-up: a fresh authentication re-issues the session's access token with auth_time now. */
    reauth: 'auth.reauth',
    /** Admins: create a staff or admin password account, change an account's role. */
    createStaff: 'auth.createStaff',
    setRole: 'auth.setRole',
    /** WeChat's message push: the raw body, and the query string and method in headers, untouched. */
    wechatPush: 'auth.wechatPush',
    /**
     * Internal (payment only): HMAC-SHA256 with the user's current session_key over some data, for WeChat's
     * virtual payment; the session_key never leaves auth.
     */
    signUserState: 'auth.signUserState'
  },
  user: {
    ping: 'user.ping',
    ensure: 'user.ensure',
    create: 'user.create',
    get: 'user.get',
    me: 'user.me',
    update: 'user.update',
    setPhone: 'user.setPhone',
    /** Internal: the WeChat identity (appid, openid) of a user, for services that pay or message them. */
    identity: 'user.identity',
    /** Internal (auth): erase a user's profile, phone and WeChat identity, by id or by (appid, openid). */
    erase: 'user.erase',
    /** Internal (auth): users by id or phone, for staff search. */
    search: 'user.search'
  },
  payment: {
    ping: 'payment.ping',
    listProducts: 'payment.listProducts',
    createOrder: 'payment.createOrder',
    listOrders: 'payment.listOrders',
    getOrder: 'payment.getOrder',
    /** Fresh wx.requestPayment parameters for an unpaid order (its prepay re-created when old). */
    payParams: 'payment.payParams',
    /** The buyer asks for a refund of their paid order; staff decide. */
    requestRefund: 'payment.requestRefund',
    /** The buyer cancels their unpaid order (closed at WeChat Pay first). */
    cancelOrder: 'payment.cancelOrder',
    /** Staff: a refund on the merchant's initiative (partial allowed, never above what is left). */
    refundOrder: 'payment.admin.refundOrder',
    /** Staff: report a physical order's shipping to WeChat with carrier and tracking number. */
    shipOrder: 'payment.admin.shipOrder',
    /** Staff: search and page every order. */
    adminSearchOrders: 'payment.admin.searchOrders',
    /** Staff: one order with its transitions, refunds and refund requests. */
    adminGetOrder: 'payment.admin.getOrder',
    /** Staff: approve a buyer's refund request (the refund is sent to WeChat Pay). */
    adminApproveRefund: 'payment.admin.approveRefund',
    /** Staff: decline a buyer's refund request, with a reason. */
    adminDeclineRefund: 'payment.admin.declineRefund',
    /** Staff: close an unpaid order (closed at WeChat Pay first). */
    adminCloseOrder: 'payment.admin.closeOrder',
    /** A WeChat Pay notification: raw body bytes and the Wechatpay-* headers, untouched. */
    wechatNotify: 'payment.wechatNotify'
  }
} as const

/** The services the gateway fans out to for `/v1/ping`. */
export const SERVICES = ['auth', 'user', 'payment'] as const
export type ServiceName = typeof SERVICES[number]

/** JetStream stream of domain events, subjects `events.<domain>.<what>`. */
export const EVENTS_STREAM = { name: 'EVENTS', subjects: 'events.>' } as const

export const EventSubjects = {
  userCreated: 'events.user.created',
  userDeleted: 'events.user.deleted',
  paymentSucceeded: 'events.payment.succeeded',
  paymentRefunded: 'events.payment.refunded',
  paymentShipped: 'events.payment.shipped',
  paymentSettled: 'events.payment.settled',
  paymentShippingOverdue: 'events.payment.shipping_overdue',
  adminRefundApproved: 'events.admin.refund_approved',
  adminRefundDeclined: 'events.admin.refund_declined',
  adminRefundIssued: 'events.admin.refund_issued',
  adminOrderShipped: 'events.admin.order_shipped',
  adminOrderClosed: 'events.admin.order_closed',
  /** `events.auth.<action>`: the audit stream of sign-ins, sign-outs, role changes and account changes. */
  authAudit: 'events.auth.>',
  /** `events.wechat.<event>`: every push of the mini-program's message push; auth publishes them. */
  wechatPushes: 'events.wechat.>'
} as const

/** The subject of one message push event: `events.wechat.<event>`. */
export function wechatPushSubject (eventName: string): string {
  return `events.wechat.${eventName}`
}

/** The subject of one audit event of auth: `events.auth.<action>`. */
export function authAuditSubject (action: string): string {
  return `events.auth.${action}`
}
