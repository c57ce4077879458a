import t from 'tap'
import { buildTestService } from '@wxmp/service/testing'
import type { TraceContext } from '@wxmp/core'
import { callerContext } from '@wxmp/testing'
import app from '../src/app.js'
import { ConfigSchema } from '../src/config.js'
import { ProfileCache, identityKey, type CachedUser } from '../src/domain/profile-cache.js'

const APPID = 'wx0123456789abcdef'
const as = (userId: string): TraceContext => callerContext({ userId })

/** Two replicas of the user service on one database and one subject prefix, as production runs them. */
async function replicas (t: Parameters<typeof buildTestService>[0]) {
  const first = await buildTestService(t, { name: 'user', schema: ConfigSchema, app })
  await buildTestService(t, { name: 'user', schema: ConfigSchema, app, prefix: first.config.NATS_SUBJECT_PREFIX, env: { DATABASE_URL: first.config.DATABASE_URL } })
  const call = async <T>(subject: string, body: unknown, ctx?: TraceContext) => (await first.callers.request<T>(subject, body, ctx)).data
  // Enough reads that both replicas (the queue group picks one per request) have the profile cached.
  const readAll = async <T>(subject: string, body: unknown, ctx?: TraceContext): Promise<T[]> => {
    const out: T[] = []
    for (let i = 0; i < 12; i++) out.push(await call<T>(subject, body, ctx))
    return out
  }
  return { ...first, call, readAll }
}

interface Profile { id: string, nickname: string | null, phone: string | null, avatarUrl: string | null }

t.test('a profile write on any replica is what every next read shows, on every replica', async (t) => {
  const { call, readAll } = await replicas(t)
  const { user } = await call<{ user: Profile }>('user.ensure', { appid: APPID, openid: 'o-cached' })
  await readAll('user.me', {}, as(user.id))
  await readAll('user.ensure', { appid: APPID, openid: 'o-cached' })

  await call('user.update', { nickname: '小明' }, as(user.id))
  t.same(new Set((await readAll<Profile>('user.me', {}, as(user.id))).map((p) => p.nickname)), new Set(['小明']), 'the new nickname at once')
  t.same(new Set((await readAll<{ user: Profile }>('user.ensure', { appid: APPID, openid: 'o-cached' })).map((r) => r.user.nickname)), new Set(['小明']), 'and in the profile a login returns')

  await call('user.setPhone', { userId: user.id, phone: '13800138000' })
  t.same(new Set((await readAll<Profile>('user.me', {}, as(user.id))).map((p) => p.phone)), new Set(['138****8000']), 'the bound phone at once')
  t.same(new Set((await readAll<Profile>('user.get', { userId: user.id })).map((p) => p.phone)), new Set(['138****8000']))
})

t.test('after erasure no replica serves the old profile, and the same openid logs in as a new user', async (t) => {
  const { call, readAll } = await replicas(t)
  for (const [openid, by] of [['o-deleting', 'id'], ['o-revoking', 'openid']] as const) {
    const { user } = await call<{ user: Profile }>('user.ensure', { appid: APPID, openid })
    await call('user.update', { nickname: '小红' }, as(user.id))
    await call('user.setPhone', { userId: user.id, phone: '13700137000' })
    await readAll('user.me', {}, as(user.id))
    await readAll('user.ensure', { appid: APPID, openid })

    await call('user.erase', by === 'id' ? { userId: user.id } : { appid: APPID, openid })
    for (const p of await readAll<Profile>('user.me', {}, as(user.id))) t.match(p, { id: user.id, nickname: null, phone: null, avatarUrl: null }, `erased by ${by}: nothing left`)
    const logins = await readAll<{ user: Profile, created: boolean }>('user.ensure', { appid: APPID, openid })
    t.not(logins[0]?.user.id, user.id, `erased by ${by}: the next login is a new user`)
    t.equal(new Set(logins.map((l) => l.user.id)).size, 1, `erased by ${by}: one new user, on every replica`)
  }
})

t.test('the cache keeps no read that raced a write, stays within its size, and forgets a user held elsewhere', async (t) => {
  let clock = 0
  const cache = new ProfileCache({ maxEntries: 2, ttlMs: 1000, holdMs: 500 }, () => clock)
  const row = (id: string, nickname: string | null = null): CachedUser => ({
    profile: { id, nickname, avatarUrl: null, phone: null, createdAt: new Date(0).toISOString() },
    unionid: null,
    identity: identityKey(APPID, `o-${id}`)
  })

  const before = cache.mark()
  cache.invalidate('a')
  cache.keep(before, row('a', 'old'))
  t.equal(cache.get('a'), undefined, 'a read that started before a write is not kept')

  cache.keep(cache.mark(), row('a'))
  cache.keep(cache.mark(), row('b'))
  cache.keep(cache.mark(), row('c'))
  t.equal(cache.get('a'), undefined, 'the oldest goes when full')
  t.equal(cache.byWechat(APPID, 'o-c')?.profile.id, 'c', 'found by WeChat identity')

  cache.hold('c')
  t.equal(cache.get('c'), undefined, 'held: forgotten')
  cache.keep(cache.mark(), row('c', 'before the other replica committed'))
  t.equal(cache.get('c'), undefined, 'held: not kept while the write may still commit')
  clock += 500
  cache.keep(cache.mark(), row('c', 'after'))
  t.equal(cache.get('c')?.profile.nickname, 'after', 'kept again once the hold is over')

  cache.holdIdentity(APPID, 'o-unknown-here')
  t.equal(cache.get('b'), undefined, 'a write by an identity this replica cannot place forgets everything')
  clock += 500
  cache.keep(cache.mark(), row('b'))
  clock += 1000
  t.equal(cache.get('b'), undefined, 'nothing is served past its time to live')
})
