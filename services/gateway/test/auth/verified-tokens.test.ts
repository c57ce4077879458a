import t from 'tap'
import { randomUUID } from 'node:crypto'
import { Revocations } from '../../src/auth/revocations.js'
import { VerifiedTokens, type VerifiedIdentity } from '../../src/auth/verified-tokens.js'
import { bearer, buildEdge, call, eventually } from '../helpers/edge.js'
import { accessToken, identity } from '../helpers/tokens.js'

const who: VerifiedIdentity = { userId: randomUUID(), sessionId: randomUUID(), role: 'buyer' }

function tokens (published: Map<string, string>, max = 3): VerifiedTokens {
  return new VerifiedTokens({ max, ttlMs: 600_000, clockToleranceMs: 5000, maxAgeMs: 905_000, published: (kid) => published.get(kid) })
}

t.test('a remembered token is used only inside the window its verification holds for', async (t) => {
  const keys = new Map([['k1', 'pem-1']])
  const cache = tokens(keys)
  const now = 1_800_000_000_000
  const s = now / 1000
  cache.set('Bearer a', { iat: s, exp: s + 900 }, 'k1', 'pem-1', who, now)
  t.equal(cache.get('Bearer a', now + 1000), who, 'the next request is answered from memory')
  t.equal(cache.get('Bearer a', now + 605_001), undefined, 'after the re-verify bound the signature is checked again')

  cache.set('Bearer b', { iat: s, exp: s + 60 }, 'k1', 'pem-1', who, now)
  t.equal(cache.get('Bearer b', now + 65_000), who, 'within the clock tolerance of exp')
  t.equal(cache.get('Bearer b', now + 65_001), undefined, 'an expired token is not served from memory')

  cache.set('Bearer c', { iat: s - 900, exp: s + 3600 }, 'k1', 'pem-1', who, now)
  t.equal(cache.get('Bearer c', now + 5001), undefined, 'nor one older than the contract\'s lifetime, whatever its exp says')

  cache.set('Bearer d', { iat: s, exp: s + 900, nbf: s + 60 }, 'k1', 'pem-1', who, now)
  t.equal(cache.get('Bearer d', now), undefined, 'nor one not valid yet')
  t.equal(cache.get('Bearer d', now + 55_000), who, 'which is served once its nbf (less the tolerance) is reached')

  cache.set('Bearer e', { iat: s - 7200, exp: s - 3600 }, 'k1', 'pem-1', who, now)
  t.equal(cache.get('Bearer e', now), undefined, 'a window already over is not remembered')
})

t.test('a remembered token stops being used once its key is retired or replaced', async (t) => {
  const keys = new Map([['k1', 'pem-1']])
  const cache = tokens(keys)
  const now = 1_800_000_000_000
  const claims = { iat: now / 1000, exp: now / 1000 + 900 }
  cache.set('Bearer a', claims, 'k1', 'pem-1', who, now)
  keys.set('k1', 'pem-2')
  t.equal(cache.get('Bearer a', now), undefined, 'the kid now names another key')
  cache.set('Bearer a', claims, 'k1', 'pem-2', who, now)
  keys.delete('k1')
  t.equal(cache.get('Bearer a', now), undefined, 'the kid is no longer published')
  t.equal(cache.size, 0)
})

t.test('memory is bounded: the oldest token makes room for a new one', async (t) => {
  const keys = new Map([['k1', 'pem-1']])
  const cache = tokens(keys, 2)
  const now = 1_800_000_000_000
  const claims = { iat: now / 1000, exp: now / 1000 + 900 }
  for (const h of ['Bearer a', 'Bearer b', 'Bearer c']) cache.set(h, claims, 'k1', 'pem-1', who, now)
  t.equal(cache.size, 2)
  t.equal(cache.get('Bearer a', now), undefined)
  t.equal(cache.get('Bearer c', now), who)
})

t.test('a token served from memory is still refused at once when its session is revoked, its key retired or it expires', async (t) => {
  const edge = await buildEdge(t, { JWT_CLOCK_TOLERANCE_S: '0' })
  const verified = edge.gw.app.edgeAuth.verified
  const person = identity()
  const token = await accessToken(edge.key, person)
  t.equal((await call(`${edge.base}/v1/test/whoami`, { headers: bearer(token) })).status, 200)
  t.equal(verified.get(`Bearer ${token}`)?.sessionId, person.sid, 'the verified token is remembered')
  const again = await call(`${edge.base}/v1/test/whoami`, { headers: bearer(token) })
  t.same({ status: again.status, userId: again.json().userId, sessionId: again.json().sessionId }, { status: 200, userId: person.sub, sessionId: person.sid }, 'and the next request is served as the same user and session')

  const kv = await Revocations.openBucket(edge.nc, edge.prefix)
  await kv.put(person.sid, JSON.stringify({ userId: person.sub, revokedAt: new Date().toISOString() }))
  const revoked = await eventually(async () => await call(`${edge.base}/v1/test/whoami`, { headers: bearer(token) }), (r) => r.status === 401, { everyMs: 5 })
  t.equal(revoked.json().error.message, 'Session revoked', 'a revocation applies to a remembered token')

  const other = await accessToken(edge.key)
  t.equal((await call(`${edge.base}/v1/test/whoami`, { headers: bearer(other) })).status, 200)
  edge.jwks.keys.splice(0, 1)
  await edge.gw.app.edgeAuth.keyring.refresh()
  t.equal((await call(`${edge.base}/v1/test/whoami`, { headers: bearer(other) })).status, 401, 'a retired key is not trusted through memory')

  edge.jwks.keys.push(edge.key)
  await edge.gw.app.edgeAuth.keyring.refresh()
  const now = Math.floor(Date.now() / 1000)
  const brief = await accessToken(edge.key, identity(), { iat: now, exp: now + 2 })
  t.equal((await call(`${edge.base}/v1/test/whoami`, { headers: bearer(brief) })).status, 200)
  const expired = await eventually(async () => await call(`${edge.base}/v1/test/whoami`, { headers: bearer(brief) }), (r) => r.status === 401, { everyMs: 100 })
  t.equal(expired.json().error.message, 'Access token expired', 'an expired token is verified again, and refused')
})
