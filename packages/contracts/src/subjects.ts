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
    bindPhone: 'auth.bindPhone'
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
    identity: 'user.identity'
  },
  payment: {
    ping: 'payment.ping',
    listProducts: 'payment.listProducts',
    createOrder: 'payment.createOrder',
    listOrders: 'payment.listOrders',
    getOrder: 'payment.getOrder',
    /** Fresh wx.requestPayment parameters for an unpaid order (its prepay re-created when old). */
    payParams: 'payment.payParams',
    refundOrder: 'payment.refundOrder',
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
  paymentSucceeded: 'events.payment.succeeded',
  paymentRefunded: 'events.payment.refunded'
} as const
