import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Config } from '../config.js'

/**
 * Runs helmet's middleware once against a scratch response and keeps the headers it set. The policy
 * is the same on every response of a JSON API, so there is nothing to compute per request
 * (@fastify/helmet rebuilds the middleware on every request, a visible share of the edge's CPU).
 */
export function helmetHeaders (options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  const res = {
    setHeader (name: string, value: string | number | readonly string[]) { headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value) },
    removeHeader (name: string) { headers[name.toLowerCase()] = '' }
  }
  helmet(options)({} as IncomingMessage, res as unknown as ServerResponse, () => {})
  for (const [k, v] of Object.entries(headers)) if (v === '') Reflect.deleteProperty(headers, k)
  return headers
}

/**
 * Security headers for a JSON API (no HTML is ever served: nothing may be framed, sniffed or
 * loaded from a response), HSTS on every HTTPS response, and the redirect of requests that a
 * trusted load balancer received over plain HTTP.
 */
export const security = fp(async function security (app: FastifyInstance, opts: { config: Config, publicHttpsPort: number }) {
  const headers = helmetHeaders({
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] } },
    crossOriginEmbedderPolicy: { policy: 'require-corp' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: { maxAge: opts.config.HSTS_MAX_AGE_S, includeSubDomains: true, preload: false },
    frameguard: { action: 'deny' },
    xDnsPrefetchControl: { allow: false },
    xPermittedCrossDomainPolicies: { permittedPolicies: 'none' },
    originAgentCluster: true,
    xDownloadOptions: true
  })
  app.addHook('onRequest', (_request, reply, done) => {
    void reply.headers(headers)
    done()
  })

  // request.protocol reads X-Forwarded-Proto only when the peer is a trusted proxy (trustProxy);
  // from anyone else the TLS connection itself says https and the header is ignored.
  app.addHook('onRequest', (request, reply, done) => {
    if (request.headers['x-forwarded-proto'] === undefined || request.protocol !== 'http') { done(); return }
    const host = request.hostname.split(':')[0] ?? ''
    const port = opts.publicHttpsPort === 443 ? '' : `:${opts.publicHttpsPort}`
    void reply.code(301).header('location', `https://${host}${port}${request.url}`).send()
  })
}, { name: 'wxmp-gateway-security', fastify: '5.x' })
