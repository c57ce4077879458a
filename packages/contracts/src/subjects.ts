/** Request/reply subjects, `<domain>.<verb>`, before the deployment prefix. */
export const Subjects = {
  auth: {
    ping: 'auth.ping'
  },
  user: {
    ping: 'user.ping'
  },
  payment: {
    ping: 'payment.ping'
  }
} as const

/** The services the gateway fans out to for `/v1/ping`. */
export const SERVICES = ['auth', 'user', 'payment'] as const
export type ServiceName = typeof SERVICES[number]
