/** Request/reply subjects, `<domain>.<verb>`, before the deployment prefix. */
export const Subjects = {
  auth: {
    ping: 'auth.ping',
    jwks: 'auth.jwks'
  },
  user: {
    ping: 'user.ping'
  },
  payment: {
    ping: 'payment.ping',
    /** A WeChat Pay notification: raw body bytes and the Wechatpay-* headers, untouched. */
    wechatNotify: 'payment.wechatNotify'
  }
} as const

/** The services the gateway fans out to for `/v1/ping`. */
export const SERVICES = ['auth', 'user', 'payment'] as const
export type ServiceName = typeof SERVICES[number]

/** JetStream stream of domain events, subjects `events.<domain>.<what>`. */
export const EVENTS_STREAM = { name: 'EVENTS', subjects: 'events.>' } as const
