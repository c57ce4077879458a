import t from 'tap'
import { createFastify, foundation, annotate, createError, isAppError } from '../src/index.js'
import { LogCollector } from '@wxmp/testing'

const Slow = createError<[number]>('TEST_SLOW_DOWN', 'Slow down for %d seconds', 429, { meaning: 'Too fast', action: 'Wait' })

t.test('a catalogue entry names its code, status and documentation without being thrown', async (t) => {
  t.equal(Slow.code, 'TEST_SLOW_DOWN')
  t.equal(Slow.statusCode, 429)
  t.same(Slow.doc, { meaning: 'Too fast', action: 'Wait' })
  const err = new Slow(3)
  t.ok(isAppError(err))
  t.equal(err.message, 'Slow down for 3 seconds')
  t.ok(err instanceof Slow)
})

t.test('annotate attaches details and headers that reach the client, and keeps headers set before', async (t) => {
  const app = createFastify({ service: 'test', stream: new LogCollector() })
  await app.register(foundation)
  app.get('/slow', async () => {
    throw annotate(annotate(new Slow(3), { headers: { 'ratelimit-limit': '10' } }), { details: { limit: 10 }, headers: { 'retry-after': '3' } })
  })
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'GET', url: '/slow' })
  t.equal(res.statusCode, 429)
  t.equal(res.headers['retry-after'], '3')
  t.equal(res.headers['ratelimit-limit'], '10')
  t.same(res.json().error.details, { limit: 10 })
  t.equal(res.json().error.code, 'TEST_SLOW_DOWN')
})
