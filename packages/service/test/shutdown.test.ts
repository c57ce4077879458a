import t from 'tap'
import { buildTestService } from '../src/testing.js'
import { connect } from '@nats-io/transport-node'
import { NatsClient } from '@wxmp/nats'
import notesApp, { Schema } from './fixtures/app.js'

t.test('closing finishes in-flight requests, then refuses new ones', async (t) => {
  const service = await buildTestService(t, { name: 'notes', schema: Schema, app: notesApp })
  // The caller has a connection of its own, which outlives the service's. `notes` is a fixture service outside the
  // permission matrix, so both run on the shared server without credentials (buildTestService).
  const nc = await connect({ servers: service.config.NATS_URL })
  t.teardown(async () => { await nc.close() })
  const client = new NatsClient(nc, service.config.NATS_SUBJECT_PREFIX, 5000)
  const inFlight = Array.from({ length: 5 }, async (_, i) => await client.request<{ id: number }>('notes.add', { body: `n${i}`, delayMs: 800 }, undefined, { timeoutMs: 5000 }))
  await new Promise((resolve) => setTimeout(resolve, 150))
  const closing = service.app.close()
  const results = await Promise.allSettled(inFlight)
  await closing
  t.same(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'], 'every in-flight request answered')
  const ids = results.map((r) => (r as PromiseFulfilledResult<{ data: { id: number } }>).value.data.id).sort()
  t.same(ids, [1, 2, 3, 4, 5], 'and every write committed')
  await t.rejects(client.request('notes.add', { body: 'late', delayMs: 0 }, undefined), { code: 'SERVICE_UNAVAILABLE' }, 'a closed service takes no new request')
})
