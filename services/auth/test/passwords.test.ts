import t from 'tap'
import { decodeJwt } from 'jose'
import { generate } from 'otplib'
import { buildTestService } from '@wxmp/service/testing'
import { callerContext } from '@wxmp/testing'
import type { TraceContext } from '@wxmp/core'
import userApp from '@wxmp/user/app'
import { ConfigSchema as UserConfig } from '@wxmp/user/config'
import app from '../src/app.js'
import { ConfigSchema } from '../src/config.js'
import { authTestEnv } from './helpers/env.js'

async function build (t: Parameters<typeof buildTestService>[0], env: Record<string, string> = {}) {
  const auth = await buildTestService(t, { name: 'auth', schema: ConfigSchema, app, env: { ...authTestEnv(), ...env } })
  await buildTestService(t, { name: 'user', schema: UserConfig, app: userApp, prefix: auth.config.NATS_SUBJECT_PREFIX })
  const client = auth.callers
  const call = async <T = any>(subject: string, body: unknown, ctx?: TraceContext): Promise<T> => (await client.request<T>(subject, body, ctx)).data
  const attempt = async (body: unknown): Promise<{ ok: boolean, code?: string, statusCode?: number, headers?: Record<string, string>, ms: number }> => {
    const started = performance.now()
    try {
      await client.request('auth.passwordLogin', body, undefined)
      return { ok: true, ms: performance.now() - started }
    } catch (err) {
      const e = err as { code: string, statusCode: number, headers?: Record<string, string> }
      return { ok: false, code: e.code, statusCode: e.statusCode, ...(e.headers === undefined ? {} : { headers: e.headers }), ms: performance.now() - started }
    }
  }
  return { auth, call, client, attempt }
}

const as = (token: string): TraceContext => {
  const c = decodeJwt(token) as { sub: string, sid: string }
  return callerContext({ userId: c.sub, sessionId: c.sid })
}

t.test('passwords are bcrypt-hashed at the configured cost; unicode is normalised; over 72 bytes is refused', async (t) => {
  const { auth, call, client } = await build(t)
  const composed = 'pässwörd-ünïcode-密码'
  await call('auth.passwordRegister', { username: 'uni', password: composed.normalize('NFC') })
  const { rows } = await auth.app.pg.query('SELECT password_hash FROM password_credentials')
  t.match(rows[0].password_hash, /^\$2[aby]\$10\$/, 'bcrypt with the configured cost')
  t.ok(await call('auth.passwordLogin', { username: 'uni', password: composed.normalize('NFD') }), 'the same password typed decomposed signs in')

  const long = '密'.repeat(25) // 75 bytes in UTF-8, 25 characters
  await t.rejects(client.request('auth.passwordRegister', { username: 'longpw', password: long }, undefined), { code: 'AUTH_PASSWORD_TOO_LONG', statusCode: 400 })
  await t.rejects(client.request('auth.passwordRegister', { username: 'weak', password: 'aaaaaaaaaaaa' }, undefined), { code: 'AUTH_PASSWORD_TOO_WEAK', statusCode: 400 })
  await t.rejects(client.request('auth.passwordRegister', { username: 'short', password: 'abc' }, undefined), { code: 'VALIDATION_FAILED', statusCode: 400 })
  await t.rejects(client.request('auth.passwordRegister', { username: 'UNI', password: 'another good password' }, undefined), { code: 'AUTH_USERNAME_TAKEN', statusCode: 409 }, 'usernames are case-insensitive')
  for (const username of ["admin' OR '1'='1", 'x; DROP TABLE users;--', '{"$gt":""}', '../../etc/passwd']) {
    await t.rejects(client.request('auth.passwordRegister', { username, password: 'correct horse battery' }, undefined), { code: 'VALIDATION_FAILED', statusCode: 400 }, username)
    const r = await client.request('auth.passwordLogin', { username, password: 'x' }, undefined).catch((e: { code: string }) => e)
    t.equal((r as { code: string }).code, 'AUTH_INVALID_CREDENTIALS', `login with ${username} is an ordinary wrong login`)
  }
  const { rows: n } = await auth.app.pg.query('SELECT count(*)::int AS n FROM password_credentials')
  t.equal(n[0].n, 1, 'nothing else was stored')
})

t.test('lockout: 5 failures lock the name for 15 minutes, identically for real and unknown names', async (t) => {
  const { call, attempt } = await build(t, { BCRYPT_COST: '12' })
  await call('auth.passwordRegister', { username: 'grace', password: 'correct horse battery' })
  const real: Array<Awaited<ReturnType<typeof attempt>>> = []
  const ghost: Array<Awaited<ReturnType<typeof attempt>>> = []
  for (let i = 0; i < 5; i++) {
    real.push(await attempt({ username: 'grace', password: `wrong-${i}` }))
    ghost.push(await attempt({ username: 'nobody-here', password: `wrong-${i}` }))
  }
  t.same(real.map((r) => r.code), Array(5).fill('AUTH_INVALID_CREDENTIALS'))
  t.same(ghost.map((r) => r.code), Array(5).fill('AUTH_INVALID_CREDENTIALS'), 'an unknown user gets the same answer')
  // Both paths pay one bcrypt verification; the medians are reported, never asserted (shared, noisy machine).
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
  t.comment(`median wrong password ${median(real.map((r) => r.ms)).toFixed(1)} ms, unknown user ${median(ghost.map((r) => r.ms)).toFixed(1)} ms`)

  const lockedReal = await attempt({ username: 'grace', password: 'correct horse battery' })
  const lockedGhost = await attempt({ username: 'nobody-here', password: 'whatever' })
  t.equal(lockedReal.statusCode, 423, 'even the right password is refused while locked')
  t.equal(lockedReal.code, 'AUTH_LOCKED')
  t.equal(lockedGhost.statusCode, 423)
  t.equal(lockedGhost.code, 'AUTH_LOCKED')
  const retry = Number(lockedReal.headers?.['retry-after'])
  t.ok(retry > 890 && retry <= 900, `Retry-After ${retry} s`)
  t.equal(lockedGhost.headers?.['retry-after'] !== undefined, true)
  t.equal((await attempt({ username: 'GRACE', password: 'x' })).code, 'AUTH_LOCKED', 'the lock is per name, case-insensitively')
  t.ok((await attempt({ username: 'someone-else', password: 'x' })).code === 'AUTH_INVALID_CREDENTIALS', 'other names are not locked')
})

t.test('a successful login clears the failure count', async (t) => {
  const { call, attempt } = await build(t)
  await call('auth.passwordRegister', { username: 'heidi', password: 'correct horse battery' })
  for (let i = 0; i < 4; i++) await attempt({ username: 'heidi', password: 'nope' })
  t.ok((await attempt({ username: 'heidi', password: 'correct horse battery' })).ok)
  for (let i = 0; i < 4; i++) await attempt({ username: 'heidi', password: 'nope' })
  t.ok((await attempt({ username: 'heidi', password: 'correct horse battery' })).ok, 'four more failures do not lock')
})

t.test('TOTP: enroll, verify, then login requires it; a code is never accepted twice', async (t) => {
  const { call, client, attempt } = await build(t)
  const reg = await call('auth.passwordRegister', { username: 'ivan', password: 'correct horse battery' })
  const enrolled = await call('auth.totpEnroll', {}, as(reg.accessToken))
  t.match(enrolled.secret, /^[A-Z2-7]{26,}$/)
  t.match(enrolled.otpauthUrl, /^otpauth:\/\/totp\/wxmp:ivan\?/)
  t.ok((await attempt({ username: 'ivan', password: 'correct horse battery' })).ok, 'not required until verified')
  await t.rejects(client.request('auth.totpVerify', { code: '000000' }, as(reg.accessToken)), { code: 'AUTH_MFA_INVALID', statusCode: 401 })
  const code = await generate({ secret: enrolled.secret })
  t.same(await call('auth.totpVerify', { code }, as(reg.accessToken)), { enabled: true })
  await t.rejects(client.request('auth.totpEnroll', {}, as(reg.accessToken)), { code: 'AUTH_MFA_ALREADY_ENABLED', statusCode: 409 })

  t.equal((await attempt({ username: 'ivan', password: 'correct horse battery' })).code, 'AUTH_MFA_REQUIRED')
  t.equal((await attempt({ username: 'ivan', password: 'correct horse battery', totp: code })).code, 'AUTH_MFA_INVALID', 'the code used to verify cannot sign in')
  t.equal((await attempt({ username: 'ivan', password: 'wrong password!', totp: code })).code, 'AUTH_INVALID_CREDENTIALS', 'the password is checked first')
  // The next time step's code works once (±1 step is accepted).
  const next = await generate({ secret: enrolled.secret, epoch: Math.floor(Date.now() / 1000) + 30 })
  const results = await Promise.all([
    attempt({ username: 'ivan', password: 'correct horse battery', totp: next }),
    attempt({ username: 'ivan', password: 'correct horse battery', totp: next })
  ])
  t.same(results.map((r) => r.ok).sort(), [false, true], 'two concurrent uses of one code: exactly one signs in')
})

t.test('registering while signed in binds the password to that user', async (t) => {
  const { call, auth } = await build(t)
  const first = await call('auth.passwordRegister', { username: 'judy', password: 'correct horse battery' })
  const second = await call('auth.passwordRegister', { username: 'judy-alt', password: 'correct horse battery' }, as(first.accessToken)).catch((e: { code: string }) => e)
  t.equal((second as { code: string }).code, 'AUTH_PASSWORD_EXISTS', 'one password per user')
  const { rows } = await auth.app.pg.query('SELECT count(*)::int AS n FROM password_credentials')
  t.equal(rows[0].n, 1)
})
