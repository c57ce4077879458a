import { connect } from '@nats-io/transport-node'
import { Type } from '@sinclair/typebox'
import { createLogger } from '@wxmp/core'
import { NatsService, createRevocationBucket, endpoint } from '@wxmp/nats'

/**
 * The NATS side of the benchmark: `bench.echo` (a bare responder: what the gateway costs with no
 * service work), `bench.me` (a stand-in service endpoint on the real service machinery: queue group,
 * validation, trace, a log line per message) and `auth.jwks` with the benchmark's public key. Like auth, it
 * creates the revocation bucket the gateway opens.
 */
const prefix = process.env.NATS_SUBJECT_PREFIX ?? ''
// Bench subjects outside the permission matrix: on the shared server, without credentials (harness/processes.ts).
const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', name: 'bench-services' })
const echo = new TextEncoder().encode('{"echo":true}')
nc.subscribe(`${prefix}bench.echo`, { callback: (_err, msg) => { msg.respond(echo) } })
const jwks = new TextEncoder().encode(process.env.BENCH_JWKS ?? '{"keys":[]}')
nc.subscribe(`${prefix}auth.jwks`, { callback: (_err, msg) => { msg.respond(jwks) } })
await createRevocationBucket(nc, prefix)

const log = createLogger({ service: 'bench-user', level: process.env.LOG_LEVEL ?? 'info' })
const service = new NatsService(nc, { name: 'benchuser', version: '0.0.0', prefix, log })
await service.start([endpoint({
  subject: 'bench.me',
  input: Type.Object({}, { additionalProperties: false }),
  handler: async (_input, ctx) => ({ id: ctx.trace.userId, nickname: 'bench', avatarUrl: null, phone: null, createdAt: '2026-01-01T00:00:00.000Z' })
})])
await nc.flush()
// The HTTP port only tells the harness this process is up.
const { createServer } = await import('node:net')
const probe = createServer((s) => s.end()).listen(Number(process.env.PORT), '127.0.0.1')
process.on('SIGTERM', () => { probe.close(); void service.stop().then(async () => { await nc.drain(); process.exit(0) }) })
