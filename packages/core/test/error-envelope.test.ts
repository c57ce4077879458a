import t from 'tap'
import { Type } from '@sinclair/typebox'
import { createFastify, foundation, Errors, createError, annotate } from '../src/index.js'
import { LogCollector, type Teardown } from '@wxmp/testing'

async function build (t: Teardown) {
  const logs = new LogCollector()
  const app = createFastify({ service: 'test', stream: logs, server: { bodyLimit: 1024 } })
  await app.register(foundation)
  app.post('/echo', { schema: { body: Type.Object({ code: Type.String({ minLength: 1 }) }) } }, async (req) => req.body)
  app.get('/boom', async () => { throw new Error('secret internal detail: password=hunter2') })
  const Locked = createError('AUTH_LOCKED', 'Too many attempts', 423)
  app.get('/locked', async () => { const e = new Locked(); (e as any).headers = { 'retry-after': '900' }; throw e })
  app.get('/upstream', async () => { throw new Errors.UpstreamTimeout('user') })
  const WechatError = createError('WECHAT_ERROR', 'WeChat refused the request', 502)
  app.get('/wechat', async () => { throw annotate(new WechatError(), { details: { api: 'jscode2session', errcode: 40029, errmsg: 'invalid code rid: 6650-1', why: 'code' } }) })
  t.teardown(() => app.close())
  return { app, logs }
}

t.test('errors come back in the envelope with the trace id', async (t) => {
  const { app } = await build(t)
  const cases: Array<[object, number, string]> = [
    [{ method: 'POST', url: '/echo', payload: {} }, 400, 'VALIDATION_FAILED'],
    [{ method: 'POST', url: '/echo', payload: '{"code":', headers: { 'content-type': 'application/json' } }, 400, 'BAD_REQUEST'],
    [{ method: 'POST', url: '/echo', payload: JSON.stringify({ code: 'x'.repeat(5000) }), headers: { 'content-type': 'application/json' } }, 413, 'PAYLOAD_TOO_LARGE'],
    [{ method: 'POST', url: '/echo', payload: '<code>1</code>', headers: { 'content-type': 'application/xml' } }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [{ method: 'GET', url: '/nope/../../etc/passwd' }, 404, 'NOT_FOUND'],
    [{ method: 'GET', url: '/locked' }, 423, 'AUTH_LOCKED'],
    [{ method: 'GET', url: '/upstream' }, 504, 'UPSTREAM_TIMEOUT']
  ]
  for (const [req, status, code] of cases) {
    const res = await app.inject(req as never)
    t.equal(res.statusCode, status, `${code} status`)
    const body = res.json()
    t.equal(body.error.code, code)
    t.type(body.error.message, 'string')
    t.match(body.error.traceId, /^[0-9a-f]{32}$/)
    t.equal(body.error.traceId, String(res.headers.traceparent).split('-')[1], 'traceId matches the traceparent header')
  }
  const locked = await app.inject({ method: 'GET', url: '/locked' })
  t.equal(locked.headers['retry-after'], '900')
})

t.test('a 500 hides internal details from the client but logs them', async (t) => {
  const { app, logs } = await build(t)
  const res = await app.inject({ method: 'GET', url: '/boom' })
  t.equal(res.statusCode, 500)
  t.same(res.json().error.code, 'INTERNAL')
  t.equal(res.json().error.message, 'Internal error')
  t.notMatch(res.body, /secret|hunter2|stack|at /)
  t.ok(logs.lines.some((l) => l.level === 'error' && l.msg === 'request failed'))
})

t.test('secrets in logged objects are redacted', async (t) => {
  const { app, logs } = await build(t)
  app.log.info({ password: 'hunter2', body: { refreshToken: 'rt-secret', code: '081xyz' }, user: { session_key: 'sk==' } }, 'login attempt')
  const raw = logs.raw.join('\n')
  t.notMatch(raw, /hunter2|rt-secret|081xyz|sk==/)
  t.match(raw, /\[REDACTED\]/)
})

t.test('an upstream error\'s envelope keeps its code and details but not WeChat\'s errmsg or the API name', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ method: 'GET', url: '/wechat' })
  t.equal(res.statusCode, 502)
  const { error } = res.json()
  t.equal(error.code, 'WECHAT_ERROR')
  t.same(error.details, { errcode: 40029, why: 'code' })
  t.notMatch(res.body, /jscode2session|invalid code|rid:/)
})
