import t from 'tap'
import { isEnvelope } from '../src/client.js'
import { requestProblems } from '../src/books.js'
import { certainlyInvalid, forgedTokens, operationsOf } from '../src/corpus.js'
import { errorsByStatus, recoveryMs } from '../src/report.js'
import { judge } from '../src/scenarios/bad-input.js'
import type { Outcome } from '../src/client.js'

const envelope = JSON.stringify({ error: { code: 'VALIDATION_FAILED', message: 'bad', traceId: 'a'.repeat(32) } })
const c = { op: 'POST /v1/payments/orders', category: 'wrong-type', name: 'x', expect: 'reject' as const, method: 'POST', target: '/', headers: [] }

t.test('the envelope is {error: {code, message, traceId}} with a 32-hex trace id, nothing less', async (t) => {
  t.ok(isEnvelope(JSON.parse(envelope)))
  t.notOk(isEnvelope({ error: 'Bad Request', message: 'Client Error', statusCode: 400 }), "Fastify's default client-error body is not the envelope")
  t.notOk(isEnvelope({ error: { code: 'X', message: 'm' } }), 'a trace id is required')
  t.notOk(isEnvelope({ error: { code: 'X', message: 'm', traceId: 'xyz' } }))
  t.notOk(isEnvelope('<html>'))
})

t.test('a corpus answer fails on 5xx, on a missing answer once accepted, on a bare error, and on 2xx where a 4xx is due', async (t) => {
  t.equal(judge(c, 400, envelope, true), undefined)
  t.match(judge(c, 500, envelope, true), /500/)
  t.match(judge(c, 431, '', true), /without the envelope/)
  t.match(judge(c, 201, '{}', true), /must be refused/)
  t.equal(judge({ ...c, expect: 'no-5xx' }, 200, '{}', true), undefined)
  t.match(judge(c, undefined, '', true, 'ECONNRESET'), /no answer/)
  t.equal(judge(c, undefined, '', false, 'ECONNREFUSED'), undefined, 'refused before it was accepted: owes nothing')
  t.equal(judge({ ...c, op: 'POST /v1/payments/wechat/notify' }, 401, '{"code":"FAIL","message":"bad signature"}', true), undefined, "the notify route answers in WeChat Pay's shape")
  const push = { ...c, op: 'POST /v1/wechat/push' }
  t.equal(judge(push, 401, 'WECHAT_PUSH_SIGNATURE_INVALID', true), undefined, 'the push route answers WeChat with the bare code')
  t.match(judge(push, 503, 'error', true), /503/, 'a push receiver that is not there is still a 5xx')
  t.match(judge(push, 400, 'Bad Request', true), /without the envelope/, 'and any other text is not its answer')
  t.match(judge(c, 401, 'WECHAT_PUSH_SIGNATURE_INVALID', true), /without the envelope/, 'a bare code elsewhere is not the envelope')
})

t.test('the books count a request as lost only once it was accepted', async (t) => {
  const o = (x: Partial<Outcome>): Outcome => ({ kind: 'order', method: 'POST', path: '/', start: 0, end: 1, accepted: true, ...x })
  t.same(requestProblems([o({ status: 201 }), o({ accepted: false, error: 'ECONNREFUSED' }), o({ status: 503, envelope: true })]), [])
  t.match(requestProblems([o({ error: 'ECONNRESET' })])[0], /no answer/)
  t.match(requestProblems([o({ status: 502, envelope: false })])[0], /not the envelope/)
})

t.test('recovery is the slowest kind\'s first success after the fault, and never when one does not come back', async (t) => {
  const o = (kind: string, start: number, end: number, status: number): Outcome => ({ kind, method: 'GET', path: '/', start, end, accepted: true, status })
  const outcomes = [o('me', 90, 95, 200), o('me', 100, 130, 503), o('me', 105, 140, 200), o('order', 101, 180, 201)]
  t.equal(recoveryMs(outcomes, 100, ['me', 'order']), 80)
  t.equal(recoveryMs(outcomes, 100, ['me', 'login']), null)
  t.same(errorsByStatus([...outcomes, { ...o('me', 0, 1, 0), status: undefined, error: 'ECONNREFUSED' }]), { 503: 1, ECONNREFUSED: 1 })
})

t.test('only input no coercion can rescue is expected to be refused', async (t) => {
  const quantity = { type: 'integer', minimum: 1, maximum: 99 }
  t.ok(certainlyInvalid(quantity, -1))
  t.ok(certainlyInvalid(quantity, 1e308))
  t.ok(certainlyInvalid(quantity, 1.5))
  t.ok(certainlyInvalid(quantity, { $gt: 0 }))
  t.ok(certainlyInvalid(quantity, 'abc'))
  t.notOk(certainlyInvalid(quantity, '10'), 'Ajv coerces "10" to 10')
  t.notOk(certainlyInvalid(quantity, true), 'Ajv coerces true to 1')
  t.ok(certainlyInvalid({ type: 'string', pattern: '^[a-z]+$' }, "' OR 1=1"))
  t.notOk(certainlyInvalid({ type: 'string', minLength: 1 }, "' OR 1=1"), 'an SQL-looking nickname may be valid; it must only not break anything')
  t.ok(certainlyInvalid({ anyOf: [{ type: 'string' }, { type: 'null' }] }, { a: 1 }))
})

t.test('operations come from the OpenAPI document with their auth requirement', async (t) => {
  const ops = operationsOf({
    security: [{ bearerAuth: [] }],
    paths: {
      '/v1/a': { post: { security: [], requestBody: { content: { 'application/json': { schema: { type: 'object' } } } } } },
      '/v1/b/{id}': { get: { parameters: [{ in: 'path', name: 'id', schema: { type: 'string' } }, { in: 'query', name: 'limit', schema: { type: 'integer' } }] } },
      '/v1/c': { post: { security: [{}, { bearerAuth: [] }] } },
      '/docs/json': { get: {} }
    }
  })
  t.same(ops.map((o) => [o.method, o.path, o.auth, o.pathParams, o.query.map((q) => q.name)]), [
    ['POST', '/v1/a', 'public', [], []],
    ['GET', '/v1/b/{id}', 'required', ['id'], ['limit']],
    ['POST', '/v1/c', 'optional', [], []]
  ])
  t.ok(Object.keys(forgedTokens()).includes('alg-none'))
})
