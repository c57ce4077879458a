import t from 'tap'
import { Type } from '@sinclair/typebox'
import { connect } from '@nats-io/transport-node'
import { createLogger, createError, type TraceContext } from '@wxmp/core'
import { LogCollector, natsPrefix, type Teardown } from '@wxmp/testing'
import { NatsClient, NatsService, endpoint } from '../src/index.js'

// The library's own tests serve and call a fixture service (`tea.*`) that is deliberately outside the permission
// matrix, from one connection, so they use the shared server without credentials; what the matrix allows is proved
// by permissions.test.ts on a server of its own.
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'
const Teapot = createError('TEA_EMPTY', 'The pot is empty', 409)

async function setup (t: Teardown) {
  const prefix = natsPrefix()
  const nc = await connect({ servers: NATS_URL })
  const logs = new LogCollector()
  const service = new NatsService(nc, { name: 'tea', version: '1.2.3', prefix, log: createLogger({ service: 'tea', level: 'debug', stream: logs }) })
  const seen: TraceContext[] = []
  await service.start([
    endpoint({
      subject: 'tea.brew',
      input: Type.Object({ cups: Type.Integer({ minimum: 1, maximum: 10 }) }, { additionalProperties: false }),
      handler: async (input, ctx) => {
        seen.push(ctx.trace)
        ctx.log.info({ cups: input.cups }, 'brewing')
        if (input.cups === 7) throw new Teapot()
        if (input.cups === 8) throw new Error('kettle exploded: token=abc')
        if (input.cups === 9) await new Promise((resolve) => setTimeout(resolve, 1500))
        return { poured: input.cups }
      }
    })
  ])
  const client = new NatsClient(nc, prefix, 500)
  t.teardown(async () => { await service.stop(); await nc.drain() })
  return { client, logs, seen, service }
}

const caller: TraceContext = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  traceFlags: '01',
  requestId: 'req-1',
  userId: 'u-42',
  sessionId: 's-7'
}

t.test('trace and user headers survive the hop both ways', async (t) => {
  const { client, logs, seen } = await setup(t)
  const reply = await client.request<{ poured: number }>('tea.brew', { cups: 2 }, caller)
  t.same(reply.data, { poured: 2 })
  const handled = seen[0] as TraceContext
  t.equal(handled.traceId, caller.traceId, 'handler continues the caller trace')
  t.not(handled.spanId, caller.spanId, 'in a span of its own')
  t.equal(handled.requestId, 'req-1')
  t.equal(handled.userId, 'u-42')
  t.equal(handled.sessionId, 's-7')
  t.match(reply.headers?.get('traceparent'), new RegExp(`^00-${caller.traceId}-${handled.spanId}-01$`), 'reply carries the handler span back')
  t.equal(reply.headers?.get('x-request-id'), 'req-1')
  const line = logs.lines.find((l) => l.msg === 'brewing')
  t.equal(line?.trace_id, caller.traceId)
  t.equal(line?.request_id, 'req-1')
  t.equal(line?.service, 'tea')
})

t.test('a message without trace headers starts its own trace', async (t) => {
  const { client, seen } = await setup(t)
  await client.request('tea.brew', { cups: 1 }, undefined)
  t.match(seen[0]?.traceId, /^[0-9a-f]{32}$/)
  t.equal(seen[0]?.userId, undefined)
})

t.test('invalid input is a 400 from the service, never reaching the handler', async (t) => {
  const { client, seen } = await setup(t)
  await t.rejects(client.request('tea.brew', { cups: 'many' }, caller), { code: 'VALIDATION_FAILED', statusCode: 400, message: /cups/ })
  await t.rejects(client.request('tea.brew', { cups: 2, extra: true }, caller), { code: 'VALIDATION_FAILED', statusCode: 400 })
  await t.rejects(client.request('tea.brew', new TextEncoder().encode('{not json'), caller, { raw: true }), { code: 'BAD_REQUEST', statusCode: 400 })
  t.equal(seen.length, 0)
})

t.test('a service error keeps its code and status; an internal one hides its message', async (t) => {
  const { client, logs } = await setup(t)
  await t.rejects(client.request('tea.brew', { cups: 7 }, caller), { code: 'TEA_EMPTY', statusCode: 409, message: 'The pot is empty' })
  const err = await client.request('tea.brew', { cups: 8 }, caller).catch((e: unknown) => e) as Error & { code: string, statusCode: number }
  t.equal(err.code, 'INTERNAL')
  t.equal(err.statusCode, 500)
  t.notMatch(err.message, /kettle|token/)
  t.ok(logs.lines.some((l) => l.msg === 'handler failed' && l.trace_id === caller.traceId))
})

t.test('nobody listening is 503, a slow service is 504', async (t) => {
  const { client } = await setup(t)
  await t.rejects(client.request('coffee.brew', {}, caller), { code: 'SERVICE_UNAVAILABLE', statusCode: 503, message: /coffee/ })
  await t.rejects(client.request('tea.brew', { cups: 9 }, caller, { timeoutMs: 200 }), { code: 'UPSTREAM_TIMEOUT', statusCode: 504, message: /tea/ })
})

t.test('replicas in one queue group share the load', async (t) => {
  const prefix = natsPrefix()
  const nc = await connect({ servers: NATS_URL })
  const counts = [0, 0]
  const services = counts.map((_, i) => new NatsService(nc, { name: 'tea', version: '1.0.0', prefix, log: createLogger({ service: 'tea', level: 'silent' }) }))
  t.teardown(async () => { for (const s of services) await s.stop(); await nc.drain() })
  await Promise.all(services.map(async (s, i) => await s.start([endpoint({ subject: 'tea.who', handler: async () => { counts[i]!++; return i } })])))
  const client = new NatsClient(nc, prefix, 1000)
  for (let i = 0; i < 40; i++) await client.request('tea.who', {}, caller)
  t.equal(counts[0]! + counts[1]!, 40, 'each request handled exactly once')
  t.ok(counts[0]! > 0 && counts[1]! > 0, `both replicas served (${counts.join('/')})`)
})

t.test('stop() waits for messages already being handled', async (t) => {
  const { client, service } = await setup(t)
  const inFlight = client.request('tea.brew', { cups: 9 }, caller, { timeoutMs: 5000 })
  await new Promise((resolve) => setTimeout(resolve, 100))
  let stopped = false
  const stopping = service.stop().then(() => { stopped = true })
  t.same((await inFlight).data, { poured: 9 }, 'the in-flight request is answered')
  await stopping
  t.ok(stopped)
  await t.rejects(client.request('tea.brew', { cups: 1 }, caller), { code: 'SERVICE_UNAVAILABLE' }, 'new requests find nobody')
})
