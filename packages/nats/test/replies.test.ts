import t from 'tap'
import { connect } from '@nats-io/transport-node'
import { natsPrefix } from '@wxmp/testing'
import { NatsClient } from '../src/index.js'

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'

t.test('concurrent requests each get their own reply on the one inbox subscription', async (t) => {
  const prefix = natsPrefix()
  const nc = await connect({ servers: NATS_URL, inboxPrefix: `_INBOX.${prefix}caller` })
  t.teardown(async () => { await nc.close() })
  // Answers in reverse order of arrival, so a reply matched by order rather than by inbox would be caught.
  const held: Array<() => void> = []
  nc.subscribe(`${prefix}echo.later`, {
    callback: (_err, msg) => {
      held.push(() => { msg.respond(msg.data) })
      if (held.length === 20) for (const answer of held.reverse()) answer()
    }
  })
  await nc.flush()
  const client = new NatsClient(nc, prefix, 5000)
  const replies = await Promise.all(Array.from({ length: 20 }, async (_, i) => (await client.request<{ i: number }>('echo.later', { i }, undefined)).data.i))
  t.same(replies, Array.from({ length: 20 }, (_, i) => i))
})

t.test('a reply that comes after the timeout is dropped, and the next request still gets its own', async (t) => {
  const prefix = natsPrefix()
  const nc = await connect({ servers: NATS_URL })
  t.teardown(async () => { await nc.close() })
  let first = true
  nc.subscribe(`${prefix}echo.slow`, {
    callback: (_err, msg) => {
      const delay = first ? 400 : 0
      first = false
      setTimeout(() => { msg.respond(msg.data) }, delay)
    }
  })
  await nc.flush()
  const client = new NatsClient(nc, prefix, 5000)
  await t.rejects(client.request('echo.slow', { n: 1 }, undefined, { timeoutMs: 100 }), { code: 'UPSTREAM_TIMEOUT', statusCode: 504 })
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.same((await client.request('echo.slow', { n: 2 }, undefined)).data, { n: 2 })
})

t.test('requests waiting when the connection closes fail as messaging unavailable, and so do later ones', async (t) => {
  const prefix = natsPrefix()
  const nc = await connect({ servers: NATS_URL })
  nc.subscribe(`${prefix}echo.never`, { callback: () => {} })
  await nc.flush()
  const client = new NatsClient(nc, prefix, 5000)
  const waiting = client.request('echo.never', {}, undefined)
  await nc.close()
  await t.rejects(waiting, { code: 'SERVICE_UNAVAILABLE', statusCode: 503 })
  await t.rejects(client.request('echo.never', {}, undefined), { code: 'SERVICE_UNAVAILABLE', statusCode: 503 })
})
