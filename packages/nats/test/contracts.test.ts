import t from 'tap'
import { Type } from '@sinclair/typebox'
import { connect } from '@nats-io/transport-node'
import { contract, rawContract } from '@wxmp/contracts'
import { createLogger } from '@wxmp/core'
import { natsPrefix, type Teardown } from '@wxmp/testing'
import { NatsClient, NatsService, endpoint } from '../src/index.js'

// The library's own tests serve and call a fixture service (`tea.*`) that is deliberately outside the permission
// matrix, from one connection, so they use the shared server without credentials; what the matrix allows is proved
// by permissions.test.ts on a server of its own.
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'

const Brew = contract('tea.brew',
  Type.Object({ cups: Type.Integer({ minimum: 1, maximum: 10 }) }, { additionalProperties: false }),
  Type.Object({ poured: Type.Integer() }))
const Weigh = rawContract('tea.weigh', Type.Object({ bytes: Type.Integer() }))

async function setup (t: Teardown) {
  const prefix = natsPrefix()
  const nc = await connect({ servers: NATS_URL })
  const service = new NatsService(nc, { name: 'tea', version: '1.0.0', prefix, log: createLogger({ service: 'tea', level: 'silent' }) })
  await service.start([
    endpoint(Brew, async (input) => ({ poured: input.cups })),
    endpoint(Weigh, async (raw, ctx) => ({ bytes: raw.length === ctx.raw.length ? raw.length : -1 }))
  ])
  t.teardown(async () => { await service.stop(); await nc.drain() })
  return new NatsClient(nc, prefix, 2000)
}

t.test('a call by contract sends its request type and gets its reply type', async (t) => {
  const client = await setup(t)
  const { data } = await client.request(Brew, { cups: 3 }, undefined)
  const poured: number = data.poured
  t.equal(poured, 3)
  await t.rejects(client.request(Brew, { cups: 11 }, undefined), { code: 'VALIDATION_FAILED', statusCode: 400 }, 'the endpoint still validates what arrives')
})

t.test('a raw contract sends its bytes untouched and the endpoint gets them as its input', async (t) => {
  const client = await setup(t)
  const body = new TextEncoder().encode('{"signed": "exactly these bytes"}  ')
  t.same((await client.request(Weigh, body, undefined)).data, { bytes: body.length })
})

t.test('a payload or a reply that does not fit the contract does not compile', async (t) => {
  // Never called: the assertions are the compiler's, run by `typecheck` over this file.
  const wrong = async (client: NatsClient): Promise<void> => {
    // @ts-expect-error cups is an integer
    await client.request(Brew, { cups: 'two' }, undefined)
    // @ts-expect-error the reply has no `spilled`
    void (await client.request(Brew, { cups: 2 }, undefined)).data.spilled
    // @ts-expect-error a handler must answer with the reply type
    endpoint(Brew, async () => ({ spilled: true }))
    // @ts-expect-error a raw contract takes bytes
    await client.request(Weigh, { bytes: 1 }, undefined)
  }
  t.type(wrong, 'function')
})
