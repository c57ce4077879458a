import t from 'tap'
import { buildTestService } from '@wxmp/service/testing'
import userApp from '@wxmp/user/app'
import { ConfigSchema as UserConfig } from '@wxmp/user/config'
import app from '../src/app.js'
import { ConfigSchema } from '../src/config.js'
import { usernameKey } from '../src/domain/username-key.js'
import { authTestEnv } from './helpers/env.js'

const PASSWORD = 'correct horse battery'

async function build (t: Parameters<typeof buildTestService>[0]) {
  const auth = await buildTestService(t, { name: 'auth', schema: ConfigSchema, app, env: authTestEnv() })
  await buildTestService(t, { name: 'user', schema: UserConfig, app: userApp, prefix: auth.config.NATS_SUBJECT_PREFIX })
  // Public subjects, sent as the gateway sends them.
  const client = auth.callers
  const register = async (username: string): Promise<string | undefined> =>
    await client.request('auth.passwordRegister', { username, password: PASSWORD }, undefined).then(() => undefined, (e: { code: string }) => e.code)
  /** The error code of a login, or 'OK'. */
  const login = async (username: string, password: string): Promise<string> =>
    await client.request('auth.passwordLogin', { username, password }, undefined).then(() => 'OK', (e: { code: string }) => e.code)
  const lock = async (username: string): Promise<void> => {
    for (let i = 0; i < 5; i++) await login(username, `wrong-guess-${i}`)
  }
  return { register, login, lock }
}

t.test('usernameKey: NFKC, then a locale-independent full case fold', async (t) => {
  t.equal(usernameKey('ＰＲＯＢＥ'), 'probe', 'full-width letters')
  t.equal(usernameKey('Straße'), 'strasse', 'ß folds to ss')
  t.equal(usernameKey('STRASSE'), 'strasse')
  t.equal(usernameKey('caf\u00e9'), usernameKey('cafe\u0301'), 'precomposed and combining é are one name')
  t.equal(usernameKey('CAFE\u0301'), usernameKey('caf\u00e9'))
  t.equal(usernameKey('probe\u0130'), 'probei\u0307', 'İ folds to i + combining dot, as Unicode folds it, not to i')
  t.equal(usernameKey('\u212Aelvin'), 'kelvin', 'the Kelvin sign is a K')
  t.equal(usernameKey('\uFB01le'), 'file', 'the ﬁ ligature is fi')
})

// Regression: while `probei` was locked, `probeİ` signed into the same account with five fresh guesses,
// because Postgres's lower() and JavaScript's toLowerCase() disagree about İ.
t.test('a locked name stays locked in every spelling, and no spelling reaches the account around the lock', async (t) => {
  const { register, login, lock } = await build(t)
  t.equal(await register('probei'), undefined)
  await lock('probei')
  for (const spelling of ['probei', 'PROBEI', 'ProbeI', 'ｐｒｏｂｅｉ', 'ＰＲＯＢＥＩ']) {
    t.equal(await login(spelling, PASSWORD), 'AUTH_LOCKED', `${spelling}: locked`)
  }
  // İ is not the same name as i once both sides fold alike: it reaches no account, locked or not.
  for (let i = 0; i < 5; i++) t.equal(await login('probe\u0130', `guess-${i}`), 'AUTH_INVALID_CREDENTIALS')
  t.equal(await login('probe\u0130', PASSWORD), 'AUTH_LOCKED', 'probeİ is now locked as a name of its own')
  t.equal(await login('probei', PASSWORD), 'AUTH_LOCKED', 'and probei is still locked')
})

t.test('ß and ss are one name: a lock by one holds for the other, and registration refuses the twin', async (t) => {
  const { register, login, lock } = await build(t)
  t.equal(await register('strasse'), undefined)
  t.equal(await login('STRAßE', PASSWORD), 'OK', 'the account answers to its ß spelling')
  t.equal(await register('STRASSE'), 'AUTH_USERNAME_TAKEN')
  await lock('Straße')
  t.equal(await login('strasse', PASSWORD), 'AUTH_LOCKED')
})

t.test('full-width letters reach the same account and share its lock', async (t) => {
  const { register, login, lock } = await build(t)
  t.equal(await register('wide'), undefined)
  t.equal(await login('ｗｉｄｅ', PASSWORD), 'OK')
  await lock('ＷＩＤＥ')
  t.equal(await login('wide', PASSWORD), 'AUTH_LOCKED')
})

t.test('combining marks: a name locked precomposed is locked decomposed, for unknown names too', async (t) => {
  const { login, lock } = await build(t)
  await lock('caf\u00e9')
  t.equal(await login('cafe\u0301', 'anything-at-all'), 'AUTH_LOCKED')
  t.equal(await login('CAFE\u0301', 'anything-at-all'), 'AUTH_LOCKED')
  t.equal(await login('cafe', 'anything-at-all'), 'AUTH_INVALID_CREDENTIALS', 'the unaccented name is another name')
})
