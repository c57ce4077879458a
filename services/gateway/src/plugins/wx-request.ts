import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { annotate, type AppError } from '@wxmp/core'
import { GatewayErrors } from '../errors.js'

function methodNotAllowed (method: string, path: string, allow: string[]): AppError {
  return annotate(new GatewayErrors.MethodNotAllowed(method, path.slice(0, 200)), { headers: { allow: allow.join(', ') } })
}

/** A registered route URL (`/v1/payments/orders/:id`, `/docs/*`) as a matcher of concrete paths. */
function matcher (url: string): RegExp {
  const source = url.split('/').map((seg) => {
    if (seg === '*') return '.*'
    if (seg.startsWith(':')) return '[^/]+'
    return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  }).join('/')
  return new RegExp(`^${source}/?$`)
}

/**
 * What a mini-program's wx.request sends, accepted as it is:
 * - `content-type: application/json` with an empty body (wx.request's default for a POST without data) is a
 *   request without a body, not a JSON syntax error; a route that needs a body still refuses it by its schema;
 * - a method the path does not have answers 405 with `Allow` (a client on PATCH learns to use PUT), not 404.
 */
export const wxRequest = fp(async function wxRequest (app: FastifyInstance) {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8')
    if (text.trim() === '') { done(null, undefined); return }
    parseJson(request, text, done)
  })

  const routes: Array<{ match: RegExp, methods: Set<string> }> = []
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    let entry = routes.find((r) => r.match.source === matcher(route.url).source)
    if (entry === undefined) { entry = { match: matcher(route.url), methods: new Set() }; routes.push(entry) }
    for (const m of methods) entry.methods.add(m.toUpperCase())
  })
  app.addHook('onRequest', async (request) => {
    if (!request.is404) return
    const path = request.url.split('?')[0] ?? ''
    const allow = new Set<string>()
    for (const r of routes) if (r.match.test(path)) for (const m of r.methods) allow.add(m)
    if (allow.size > 0 && !allow.has(request.method)) throw methodNotAllowed(request.method, path, [...allow].sort())
  })
}, { name: 'wxmp-wx-request', fastify: '5.x' })
