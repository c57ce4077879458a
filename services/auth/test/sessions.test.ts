import t from 'tap'
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from 'jose'
import { buildTestService } from '@wxmp/service/testing'
import type { TraceContext } from '@wxmp/core'
import { callerContext } from '@wxmp/testing'
import { Kvm } from '@nats-io/kv'
import { prefixedName, REVOCATION_BUCKET } from '@wxmp/contracts'
import app from '../src/app.js'
import { ConfigSchema } from '../src/config.js'
import { authTestEnv } from './helpers/env.js'

// Password accounts exercise sessions without WeChat, against the real user service.
import userApp from '@wxmp/user/app'
import { ConfigSchema as UserConfig } from '@wxmp/user/config'

async function build (t: Parameters<typeof buildTestService>[0], env: Record<string, string> = {}) {
  const auth = await buildTestService(t, { name: 'auth', schema: ConfigSchema, app, env: { ...authTestEnv(), ...env } })
  await buildTestService(t, { name: 'user', schema: UserConfig, app: userApp, prefix: auth.config.NATS_SUBJECT_PREFIX })
  const client = auth.callers
  const call = async <T = any>(subject: string, body: unknown, ctx?: TraceContext): Promise<T> => (await client.request<T>(subject, body, ctx)).data
  return { auth, call, client }
}

const as = (claims: { sub: string, sid: string }): TraceContext => callerContext({ userId: claims.sub, sessionId: claims.sid })

t.test('a login issues an ES256 access token the JWKS verifies, and an opaque refresh token stored hashed', async (t) => {
  const { auth, call } = await build(t)
  const login = await call('auth.passwordRegister', { username: 'alice', password: 'correct horse battery' })
  t.equal(login.tokenType, 'Bearer')
  t.equal(login.expiresIn, 900)
  t.match(login.refreshToken, /^rt_[A-Za-z0-9_-]{43}$/)
  const header = decodeProtectedHeader(login.accessToken)
  t.same(header, { alg: 'ES256', kid: 'k1', typ: 'JWT' })
  const jwks = await call('auth.jwks', {})
  const key = await importJWK(jwks.keys[0], 'ES256')
  const { payload } = await jwtVerify(login.accessToken, key, { issuer: 'wxmp-auth', audience: 'wxmp-api', algorithms: ['ES256'] })
  t.equal(payload.sub, login.user.id)
  t.match(payload.sid, /^[0-9a-f-]{36}$/)
  t.equal((payload.exp as number) - (payload.iat as number), 900)
  t.ok(payload.jti)
  const { rows } = await auth.app.pg.query('SELECT token_hash FROM refresh_tokens')
  t.equal(rows.length, 1)
  t.notMatch(JSON.stringify(rows), new RegExp(login.refreshToken.slice(3)), 'only a hash is stored')
})

t.test('refresh rotates; reusing an old token revokes the whole family', async (t) => {
  const { call, client } = await build(t, { REFRESH_REUSE_GRACE_SECONDS: '0' })
  const first = await call('auth.passwordRegister', { username: 'bob', password: 'correct horse battery' })
  const second = await call('auth.refresh', { refreshToken: first.refreshToken })
  t.not(second.refreshToken, first.refreshToken)
  const third = await call('auth.refresh', { refreshToken: second.refreshToken })
  t.ok(third.accessToken)
  // An attacker replays the first token: the session ends for everyone holding its tokens.
  await t.rejects(client.request('auth.refresh', { refreshToken: first.refreshToken }, undefined), { code: 'AUTH_REFRESH_REUSED', statusCode: 401 })
  await t.rejects(client.request('auth.refresh', { refreshToken: third.refreshToken }, undefined), { code: 'AUTH_SESSION_REVOKED', statusCode: 401 }, 'the legitimate latest token is dead too')
  await t.rejects(client.request('auth.refresh', { refreshToken: 'rt_' + 'A'.repeat(43) }, undefined), { code: 'AUTH_REFRESH_INVALID', statusCode: 401 })
})

t.test('two tabs refreshing with the same token inside the grace both stay signed in', async (t) => {
  const { call } = await build(t, { REFRESH_REUSE_GRACE_SECONDS: '5' })
  const login = await call('auth.passwordRegister', { username: 'carol', password: 'correct horse battery' })
  const [a, b] = await Promise.all([
    call('auth.refresh', { refreshToken: login.refreshToken }),
    call('auth.refresh', { refreshToken: login.refreshToken })
  ])
  t.not(a.refreshToken, b.refreshToken)
  t.ok(await call('auth.refresh', { refreshToken: a.refreshToken }), 'tab A keeps going')
  t.ok(await call('auth.refresh', { refreshToken: b.refreshToken }), 'tab B keeps going')
})

t.test('logout revokes at once, in Postgres and in the revocation bucket; logout-all ends every session', async (t) => {
  const { auth, call, client } = await build(t)
  const one = await call('auth.passwordRegister', { username: 'dave', password: 'correct horse battery' })
  const two = await call('auth.passwordLogin', { username: 'dave', password: 'correct horse battery' })
  const three = await call('auth.passwordLogin', { username: 'DAVE', password: 'correct horse battery' })
  const claims = (tok: string) => decodeJwt(tok) as { sub: string, sid: string }
  const kv = await new Kvm(auth.app.nats).open(prefixedName(auth.config.NATS_SUBJECT_PREFIX, REVOCATION_BUCKET.name))

  const loggedOut = await call('auth.logout', {}, as(claims(one.accessToken)))
  const entry = await kv.get(claims(one.accessToken).sid)
  t.same(loggedOut, { revokedSessions: 1, revocations: [{ sessionId: claims(one.accessToken).sid, revision: entry?.revision }] }, 'the reply carries the revocation\'s KV revision')
  t.equal(entry?.json<{ userId: string }>().userId, one.user.id, 'the gateway learns of it through the bucket')
  await t.rejects(client.request('auth.refresh', { refreshToken: one.refreshToken }, undefined), { code: 'AUTH_SESSION_REVOKED' })
  t.ok(await call('auth.refresh', { refreshToken: two.refreshToken }), 'other sessions live on')

  const all = await call('auth.logoutAll', {}, as(claims(three.accessToken)))
  t.equal(all.revokedSessions, 2)
  const two2 = await kv.get(claims(two.accessToken).sid)
  t.ok(two2)
  t.same(new Set(all.revocations.map((r: { sessionId: string }) => r.sessionId)), new Set([claims(two.accessToken).sid, claims(three.accessToken).sid]))
  t.ok(all.revocations.some((r: { sessionId: string, revision: number }) => r.sessionId === claims(two.accessToken).sid && r.revision === two2?.revision), 'each with its revision')
  await t.rejects(client.request('auth.refresh', { refreshToken: three.refreshToken }, undefined), { code: 'AUTH_SESSION_REVOKED' })
  await t.rejects(client.request('auth.logout', {}, undefined), { code: 'UNAUTHENTICATED', statusCode: 401 })
})

t.test('a Redis restart logs nobody out: sessions live in Postgres', async (t) => {
  const { privateRedis } = await import('@wxmp/testing')
  const redis = await privateRedis(t)
  const { call } = await build(t, { REDIS_URL: redis.url })
  const login = await call('auth.passwordRegister', { username: 'erin', password: 'correct horse battery' })
  await redis.stop()
  await redis.start()
  t.ok((await call('auth.refresh', { refreshToken: login.refreshToken })).accessToken)
})

t.test('a second signing key is published; tokens name the active one', async (t) => {
  const { writeEs256Key } = await import('./helpers/env.js')
  const { mkdtempSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const dir = mkdtempSync(`${tmpdir()}/wxmp-keys-`)
  const env = authTestEnv()
  const { call } = await build(t, { ...env, AUTH_JWT_PRIVATE_KEY_FILES: `${env.AUTH_JWT_PRIVATE_KEY_FILES},k2=${writeEs256Key(dir, 'k2')}`, AUTH_JWT_ACTIVE_KID: 'k2' })
  const jwks = await call('auth.jwks', {})
  t.same(jwks.keys.map((k: { kid: string }) => k.kid), ['k1', 'k2'])
  const login = await call('auth.passwordRegister', { username: 'frank', password: 'correct horse battery' })
  t.equal(decodeProtectedHeader(login.accessToken).kid, 'k2')
})
