import t, { type Test } from 'tap'
import { createHmac, createSign, generateKeyPairSync, randomUUID } from 'node:crypto'
import { SignJWT, generateKeyPair } from 'jose'
import { REVOCATION_BUCKET } from '@wxmp/contracts'
import { Revocations } from '../src/auth/revocations.js'
import { bearer, buildEdge, call, eventually } from './helpers/edge.js'
import { accessToken, identity, jwksResponder, testKey } from './helpers/tokens.js'

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')

function claims (who = identity(), extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  return { iss: 'wxmp-auth', aud: 'wxmp-api', sub: who.sub, sid: who.sid, jti: randomUUID(), iat: now, exp: now + 900, ...extra }
}

function expectRefused (t: Test, res: Awaited<ReturnType<typeof call>>, what: string): void {
  t.equal(res.status, 401, `${what}: 401`)
  t.equal(res.json().error.code, 'UNAUTHENTICATED', `${what}: envelope code`)
  t.match(res.headers['www-authenticate'], /^Bearer /, `${what}: WWW-Authenticate`)
  t.equal(res.json().error.traceId, String(res.headers.traceparent).split('-')[1], `${what}: traceId`)
}

t.test('a valid token reaches the service as the verified user and session only', async (t) => {
  const edge = await buildEdge(t)
  const who = identity()
  const token = await accessToken(edge.key, who)
  const res = await call(`${edge.base}/v1/test/whoami`, { headers: { ...bearer(token), 'x-user-id': randomUUID(), 'x-session-id': randomUUID() } })
  t.equal(res.status, 200)
  t.same({ userId: res.json().userId, sessionId: res.json().sessionId }, { userId: who.sub, sessionId: who.sid }, 'client-sent identity headers are ignored')

  const open = await call(`${edge.base}/v1/test/open`, { headers: { 'x-user-id': who.sub } })
  t.equal(open.status, 200)
  t.equal(open.json().userId, null, 'a public route never forwards an identity the gateway did not verify')
})

t.test('missing, forged, expired and confused tokens are refused with 401 before any service is called', async (t) => {
  const edge = await buildEdge(t)
  const { kid } = edge.key
  const pem = (await import('node:crypto')).createPublicKey({ key: edge.key.publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
  const otherKey = await testKey(kid)
  const rsa = await generateKeyPair('RS256')
  const now = Math.floor(Date.now() / 1000)
  const ecPair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const rawEs256 = (header: object, payload: object): string => {
    const input = `${b64(header)}.${b64(payload)}`
    const sig = createSign('SHA256').update(input).sign({ key: ecPair.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')
    return `${input}.${sig}`
  }

  const cases: Array<[string, string | undefined]> = [
    ['no token', undefined],
    ['alg none', `${b64({ alg: 'none', kid, typ: 'JWT' })}.${b64(claims())}.`],
    ['HS256 signed with the public key', (() => {
      const input = `${b64({ alg: 'HS256', kid, typ: 'JWT' })}.${b64(claims())}`
      return `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`
    })()],
    ['RS256', await new SignJWT(claims() as never).setProtectedHeader({ alg: 'RS256', kid }).sign(rsa.privateKey)],
    ['signed by another key under the known kid', await accessToken(otherKey)],
    ['an unknown kid', rawEs256({ alg: 'ES256', kid: 'nobody', typ: 'JWT' }, claims())],
    ['expired', await accessToken(edge.key, identity(), { iat: now - 3600, exp: now - 1800 })],
    ['not yet valid', await accessToken(edge.key, identity(), { nbf: now + 600 })],
    ['wrong issuer', await accessToken(edge.key, identity(), { iss: 'someone-else' })],
    ['wrong audience', await accessToken(edge.key, identity(), { aud: 'other-api' })],
    ['no session id', await new SignJWT({} as never).setProtectedHeader({ alg: 'ES256', kid }).setIssuer('wxmp-auth').setAudience('wxmp-api').setSubject(randomUUID()).setJti('j').setIssuedAt(now).setExpirationTime(now + 900).sign(edge.key.privateKey)],
    ['a sub that is not a user id', await accessToken(edge.key, { sub: 'admin', sid: randomUUID() })],
    ['a lifetime beyond the contract', await accessToken(edge.key, identity(), { iat: now - 7200, exp: now + 3600 })],
    ['tampered payload', await (async () => {
      const [h, , s] = (await accessToken(edge.key)).split('.')
      return `${h}.${b64(claims())}.${s}`
    })()],
    ['garbage', 'not-a-jwt'],
    ['three garbage parts', 'a.b.c']
  ]
  for (const [what, token] of cases) {
    const res = await call(`${edge.base}/v1/test/whoami`, { headers: token === undefined ? {} : bearer(token) })
    expectRefused(t, res, what)
  }
  const basic = await call(`${edge.base}/v1/test/whoami`, { headers: { authorization: 'Basic dXNlcjpwYXNz' } })
  expectRefused(t, basic, 'basic auth')
  t.equal(edge.seen.length, 0, 'no refused request reached a service')
})

t.test('an optional route serves anonymous callers and verifies a token when one is sent', async (t) => {
  const edge = await buildEdge(t)
  const who = identity()
  const anon = await call(`${edge.base}/v1/test/maybe`)
  t.equal(anon.status, 200)
  t.equal(anon.json().userId, null)
  const known = await call(`${edge.base}/v1/test/maybe`, { headers: bearer(await accessToken(edge.key, who)) })
  t.equal(known.json().userId, who.sub)
  const bad = await call(`${edge.base}/v1/test/maybe`, { headers: bearer('a.b.c') })
  t.equal(bad.status, 401, 'a bad token is refused rather than silently ignored')
})

t.test('a revoked session is refused within moments, without a restart and without a call per request', async (t) => {
  const edge = await buildEdge(t)
  const who = identity()
  const sibling = { sub: who.sub, sid: randomUUID() }
  const token = await accessToken(edge.key, who)
  const other = await accessToken(edge.key, sibling)
  t.equal((await call(`${edge.base}/v1/test/whoami`, { headers: bearer(token) })).status, 200)

  const kv = await Revocations.openBucket(edge.nc, edge.prefix)
  const started = Date.now()
  await kv.put(who.sid, JSON.stringify({ userId: who.sub, revokedAt: new Date().toISOString() }))
  const refused = await eventually(async () => await call(`${edge.base}/v1/test/whoami`, { headers: bearer(token) }), (r) => r.status === 401, { everyMs: 5 })
  t.comment(`revocation reached the gateway and refused the token ${Date.now() - started} ms after the KV put`)
  expectRefused(t, refused, 'revoked session')
  t.equal(refused.json().error.message, 'Session revoked')
  t.equal((await call(`${edge.base}/v1/test/whoami`, { headers: bearer(other) })).status, 200, 'the user\'s other sessions still work')

  const status = await kv.status()
  t.equal(status.ttl, REVOCATION_BUCKET.ttlMs, 'bucket created with the contract ttl')
  t.equal(status.history, 1)

  // A gateway started after the revocation learns it from the bucket's current values.
  const late = await buildEdge(t, { NATS_SUBJECT_PREFIX: edge.prefix })
  await jwksResponder(t, edge.prefix, [edge.key])
  const lateRes = await eventually(async () => await call(`${late.base}/v1/test/whoami`, { headers: bearer(token) }), (r) => r.status === 401)
  t.equal(lateRes.status, 401, 'a new replica refuses the revoked session from its first request')
})

t.test('a key added by rotation is picked up without a restart, and a retired key stops working', async (t) => {
  const edge = await buildEdge(t, { JWKS_MIN_REFETCH_MS: '0' })
  const next = await testKey()
  const oldToken = await accessToken(edge.key)
  const newToken = await accessToken(next)
  t.equal((await call(`${edge.base}/v1/test/whoami`, { headers: bearer(newToken) })).status, 401, 'unknown before auth publishes it')

  edge.jwks.keys.push(next)
  t.equal((await call(`${edge.base}/v1/test/whoami`, { headers: bearer(newToken) })).status, 200, 'an unknown kid triggers a refetch that finds the new key')
  t.equal((await call(`${edge.base}/v1/test/whoami`, { headers: bearer(oldToken) })).status, 200, 'the old key keeps working while published')

  edge.jwks.keys.splice(0, 1)
  await edge.gw.app.edgeAuth.keyring.refresh()
  t.equal((await call(`${edge.base}/v1/test/whoami`, { headers: bearer(oldToken) })).status, 401, 'a key auth stopped publishing is no longer trusted')
})

t.test('unknown kids cannot make the gateway hammer auth', async (t) => {
  const edge = await buildEdge(t, { JWKS_MIN_REFETCH_MS: '60000' })
  const before = edge.jwks.fetches
  const stranger = await testKey('stranger')
  for (let i = 0; i < 5; i++) {
    t.equal((await call(`${edge.base}/v1/test/whoami`, { headers: bearer(await accessToken(stranger)) })).status, 401)
  }
  t.ok(edge.jwks.fetches - before <= 1, 'at most one refetch per JWKS_MIN_REFETCH_MS')
})

t.test('the periodic refresh picks up a new key before any token needs it', async (t) => {
  const edge = await buildEdge(t, { JWKS_REFRESH_MS: '1000', JWKS_MIN_REFETCH_MS: '600000' })
  const next = await testKey()
  edge.jwks.keys.push(next)
  const res = await eventually(async () => await call(`${edge.base}/v1/test/whoami`, { headers: bearer(await accessToken(next)) }), (r) => r.status === 200, { everyMs: 100 })
  t.equal(res.status, 200)
})

t.test('with auth not up yet the gateway boots, serves public routes, and verifies tokens once keys arrive', async (t) => {
  const edge = await buildEdge(t, {}, { jwks: false })
  const open = await call(`${edge.base}/v1/test/open`)
  t.equal(open.status, 200, 'public routes work without auth')
  const token = await accessToken(edge.key)
  const early = await call(`${edge.base}/v1/test/whoami`, { headers: bearer(token) })
  t.equal(early.status, 503, 'a token that cannot be judged yet is not called invalid')
  t.equal(early.json().error.code, 'SERVICE_UNAVAILABLE')

  await jwksResponder(t, edge.prefix, [edge.key])
  const later = await eventually(async () => await call(`${edge.base}/v1/test/whoami`, { headers: bearer(token) }), (r) => r.status === 200)
  t.equal(later.status, 200)
})
