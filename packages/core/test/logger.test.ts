import t from 'tap'
import { LogCollector } from '@wxmp/testing'
import { createLogger } from '../src/logger.js'

function logged (obj: Record<string, unknown>): { line: Record<string, any>, raw: string } {
  const logs = new LogCollector()
  createLogger({ service: 'test', stream: logs }).info(obj, 'event')
  return { line: logs.lines[0] as Record<string, any>, raw: logs.raw[0] as string }
}

t.test('secrets are censored at the top and two levels down, headers and arrays included', async (t) => {
  const { line, raw } = logged({
    password: 'hunter2',
    body: { refreshToken: 'rt-secret', nested: { code: '081xyz' } },
    req: { headers: { authorization: 'Bearer eyJ.secret', 'content-type': 'application/json' } },
    items: [{ token: 'tok-1' }, { note: 'kept' }],
    headers: { 'wechatpay-signature': 'sig==' },
    userId: 'u-1'
  })
  t.notMatch(raw, /hunter2|rt-secret|081xyz|eyJ\.secret|tok-1|sig==/)
  t.equal(line.password, '[REDACTED]')
  t.equal(line.body.nested.code, '[REDACTED]')
  t.equal(line.req.headers.authorization, '[REDACTED]')
  t.equal(line.req.headers['content-type'], 'application/json', 'other fields stay')
  t.same(line.items, [{ token: '[REDACTED]' }, { note: 'kept' }])
  t.equal(line.userId, 'u-1')
})

t.test('the logged object itself is never changed', async (t) => {
  const input = { body: { password: 'hunter2' }, at: new Date(0), data: Buffer.from('x') }
  const { line } = logged(input)
  t.equal(input.body.password, 'hunter2')
  t.equal(line.body.password, '[REDACTED]')
  t.equal(line.at, '1970-01-01T00:00:00.000Z')
})

t.test('errors keep their serialisation', async (t) => {
  const { line } = logged({ err: new Error('boom') })
  t.equal(line.err.message, 'boom')
  t.match(line.err.stack, /Error: boom/)
})
