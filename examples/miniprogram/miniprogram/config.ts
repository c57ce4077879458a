/**
 * Where the gateway is. Point `gatewayUrl` at your deployed gateway's https origin and add that domain to the
 * mini-program's "request 合法域名" in the admin console; wx.request reaches no other domain.
 */
export const config = {
  gatewayUrl: 'https://localhost:8443'
}
