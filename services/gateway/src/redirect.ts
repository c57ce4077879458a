import Fastify, { LogController, type FastifyInstance } from 'fastify'
import type { FastifyBaseLogger } from 'fastify'
import { Errors } from '@wxmp/core'

// RFC 3986 host: a DNS name or an IPv4 literal, optional port; anything else is refused rather than echoed.
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/

/** The plain-HTTP listener: `/healthz` for probes, and 301 to the same path on HTTPS for everything else. */
export function redirectApp (opts: { httpsPort: number, logger: FastifyBaseLogger }): FastifyInstance {
  const app = Fastify({ loggerInstance: opts.logger, logController: new LogController({ disableRequestLogging: true }) }) as unknown as FastifyInstance
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.all('/*', async (request, reply) => {
    const host = request.headers.host ?? ''
    if (!HOST.test(host)) {
      const err = new Errors.BadRequest('Missing or invalid Host header')
      return await reply.code(err.statusCode).send({ error: { code: err.code, message: err.message } })
    }
    const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]
    const port = opts.httpsPort === 443 ? '' : `:${opts.httpsPort}`
    return await reply.code(301).header('location', `https://${name}${port}${request.url}`).send()
  })
  return app
}
