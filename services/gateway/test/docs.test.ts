import t from 'tap'
import { buildEdge, call } from './helpers/edge.js'

t.test('/docs/json is the OpenAPI document of the public API, with bearer auth where a token is needed', async (t) => {
  const edge = await buildEdge(t)
  const res = await call(`${edge.base}/docs/json`)
  t.equal(res.status, 200)
  const doc = res.json()
  t.match(doc.openapi, /^3\./)
  t.same(doc.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
  t.ok(doc.paths['/v1/ping']?.get, 'routes appear without being listed anywhere')
  t.same(doc.paths['/v1/ping'].get.security, [], 'a public route needs no token')
  t.same(doc.paths['/v1/test/whoami'].get.security, [{ bearerAuth: [] }], 'any other route needs a bearer token')
  t.same(doc.paths['/v1/test/maybe'].get.security, [{}, { bearerAuth: [] }], 'an optional route takes a token or none')
  t.ok(doc.paths['/v1/payments/wechat/notify']?.post)
  t.notOk(doc.paths['/docs/json'], 'the document does not describe itself')
  const approve = doc.paths['/v1/admin/refund-requests/{id}/approve']?.post
  t.same(approve?.tags, ['admin'], 'the staff API is listed under admin')
  t.match(approve?.description, /Role: staff or above\. Step-up: money \(a recent sign-in with TOTP/, 'with the role and step-up it needs')
  t.match(doc.paths['/v1/admin/orders']?.get?.description, /Role: staff or above\.$/)
  t.notMatch(doc.paths['/v1/admin/orders']?.get?.description, /Step-up/, 'reading needs no step-up')
  t.notOk(doc.paths['/v1/payments/orders/{id}/refunds'], 'buyers ask for refunds; they no longer make them')
  t.same((await call(`${edge.base}/docs`)).json().paths, doc.paths, '/docs serves the same document')
})
