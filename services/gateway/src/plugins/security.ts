import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import helmet from '@fastify/helmet'
import type { Config } from '../config.js'

/**
 * Security headers for a JSON API (no HTML is ever served: nothing may be framed, sniffed or
 * loaded from a response), HSTS on every HTTPS response, and the redirect of requests that a
 * trusted load balancer received over plain HTTP.
 */
export const security = fp(async function security (app: FastifyInstance, opts: { config: Config, publicHttpsPort: number }) {
  await app.register(helmet, {
    global: true,
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

  // request.protocol reads X-Forwarded-Proto only when the peer is a trusted proxy (trustProxy);
  // from anyone else the TLS connection itself says https and the header is ignored.
  app.addHook('onRequest', async (request, reply) => {
    if (request.headers['x-forwarded-proto'] === undefined || request.protocol !== 'http') return
    const host = request.hostname.split(':')[0] ?? ''
    const port = opts.publicHttpsPort === 443 ? '' : `:${opts.publicHttpsPort}`
    return await reply.code(301).header('location', `https://${host}${port}${request.url}`).send()
  })
}, { name: 'wxmp-gateway-security', fastify: '5.x' })
