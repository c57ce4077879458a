import t from 'tap'
import { decodeJwt } from 'jose'
import { Kvm } from '@nats-io/kv'
import { buildTestService, connectOperator } from '@wxmp/service/testing'
import { REVOCATION_BUCKET, prefixedName } from '@wxmp/contracts'
import { createLogger } from '@wxmp/core'
import { createRevocationBucket } from '@wxmp/nats'
import { callerContext, eventually, LogCollector } from '@wxmp/testing'
import app from '../src/app.js'
import { ConfigSchema } from '../src/config.js'
import { Republisher } from '../src/domain/republisher.js'
import { Revocations } from '../src/domain/revocations.js'
import { Audit } from '../src/domain/audit.js'
import { Sessions } from '../src/domain/sessions.js'
import { SigningKeys } from '../src/domain/signing-keys.js'
import { authTestEnv } from './helpers/env.js'
import userApp from '@wxmp/user/app'
import { ConfigSchema as UserConfig } from '@wxmp/user/config'

async function build (t: Parameters<typeof buildTestService>[0]) {
  const env = authTestEnv()
  const auth = await buildTestService(t, { name: 'auth', schema: ConfigSchema, app, env })
  await buildTestService(t, { name: 'user', schema: UserConfig, app: userApp, prefix: auth.config.NATS_SUBJECT_PREFIX })
  // Public subjects, sent as the gateway sends them.
  const client = auth.callers
  const prefix = auth.config.NATS_SUBJECT_PREFIX
  // The bucket comes back as auth brings it back: auth is the one identity that may create it.
  const restoreBucket = async () => await createRevocationBucket(auth.app.nats, prefix, 1)
  // The bucket goes away (its node lost, its store wiped): every write to it fails until it is back. No service
  // may delete it; the test server's operator plays the loss.
  const operator = await connectOperator(t, prefix)
  const loseBucket = async (): Promise<void> => { await (await new Kvm(operator).open(prefixedName(prefix, REVOCATION_BUCKET.name))).destroy() }
  const register = async (username: string) => (await client.request('auth.passwordRegister', { username, password: 'correct horse battery' }, undefined)).data as { accessToken: string, refreshToken: string, user: { id: string } }
  const as = (token: string) => { const c = decodeJwt(token) as { sub: string, sid: string }; return { ...c, ctx: callerContext({ userId: c.sub, sessionId: c.sid }) } }
  return { auth, env, client, loseBucket, restoreBucket, register, as }
}

t.test('a logout while the revocation bucket is unavailable answers 503 with Retry-After and changes nothing; a retry once it is back signs out', async (t) => {
  const { auth, client, loseBucket, restoreBucket, register, as } = await build(t)
  const login = await register('grace')
  const who = as(login.accessToken)
  await loseBucket()

  for (const subject of ['auth.logout', 'auth.logoutAll']) {
    await t.rejects(client.request(subject, {}, who.ctx), { code: 'AUTH_REVOCATION_UNAVAILABLE', statusCode: 503, headers: { 'retry-after': '2' } }, `${subject} answers 503 with Retry-After, never 500`)
  }
  const { rows } = await auth.app.pg.query('SELECT revoked_at FROM sessions WHERE id = $1', [who.sid])
  t.equal(rows[0].revoked_at, null, 'Postgres does not say "revoked" about a session the edge still accepts')
  t.ok((await client.request('auth.refresh', { refreshToken: login.refreshToken }, undefined)).data, 'the session still works, as the answer said')

  const kv = await restoreBucket()
  const reply = (await client.request('auth.logout', {}, who.ctx)).data as { revokedSessions: number, revocations: Array<{ sessionId: string, revision: number }> }
  t.equal(reply.revokedSessions, 1)
  t.equal(reply.revocations[0]?.revision, (await kv.get(who.sid))?.revision, 'the retry writes the revocation and answers its revision')
  await t.rejects(client.request('auth.refresh', { refreshToken: login.refreshToken }, undefined), { code: 'AUTH_SESSION_REVOKED' })
})

t.test('a reused refresh token while the bucket is unavailable answers 503 and keeps the session as it was', async (t) => {
  const { auth, client, loseBucket, register, as } = await build(t)
  const login = await register('heidi')
  await client.request('auth.refresh', { refreshToken: login.refreshToken }, undefined)
  await auth.app.pg.query("UPDATE refresh_tokens SET used_at = now() - interval '1 hour' WHERE used_at IS NOT NULL")
  await loseBucket()
  await t.rejects(client.request('auth.refresh', { refreshToken: login.refreshToken }, undefined), { code: 'AUTH_REVOCATION_UNAVAILABLE', statusCode: 503 })
  const { rows } = await auth.app.pg.query('SELECT revoked_at FROM sessions WHERE id = $1', [as(login.accessToken).sid])
  t.equal(rows[0].revoked_at, null, 'not revoked in Postgres while the edge could not be told')
})

t.test('recent revocations are republished in the background, retried until the bucket is back, without failing the process', async (t) => {
  const { auth, env, client, loseBucket, restoreBucket, register, as } = await build(t)
  const login = await register('ivan')
  const who = as(login.accessToken)
  await client.request('auth.logout', {}, who.ctx)
  await loseBucket()

  const logs = new LogCollector()
  const keys = await SigningKeys.fromFiles(env.AUTH_JWT_PRIVATE_KEY_FILES as string, 'k1')
  const log = createLogger({ service: 'auth-test', level: 'debug', stream: logs })
  const revocations = await Revocations.open(auth.app.nats, auth.config.NATS_SUBJECT_PREFIX, { replicas: 1, timeoutMs: 1000, log })
  // Opening recreated the bucket; it is lost again before the republish, as when a node goes away after boot.
  await loseBucket()
  const sessions = new Sessions(auth.app.pg.pool, keys, revocations, { sessionTtlDays: 30, reuseGraceSeconds: 5 }, new Audit(auth.app.pg.pool))
  const republisher = new Republisher({ republish: async () => await sessions.republishRecent(REVOCATION_BUCKET.ttlMs), log, backoffMs: 50, maxBackoffMs: 200 })
  republisher.start()
  t.teardown(async () => { await republisher.stop() })

  const failures = await eventually(() => logs.lines.filter((l) => l.msg === 'republishing recent revocations failed; retrying').length, (n) => n >= 2, { timeoutMs: 20_000 })
  t.ok(failures >= 2, 'a failed put is logged and retried')
  t.notOk(republisher.completed)
  const kv = await restoreBucket()
  const entry = await eventually(async () => await kv.get(who.sid), (e) => e !== null && e.operation === 'PUT', { timeoutMs: 20_000 })
  t.equal(entry?.json<{ userId: string }>().userId, login.user.id, 'the revocation is back in the bucket')
  t.ok(await eventually(() => republisher.completed, (done) => done, { timeoutMs: 20_000 }), 'and the republisher is done')
})
