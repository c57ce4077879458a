import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { privateRedis, redisPrefix } from '@wxmp/testing'
import { startSimulator, type RunningSimulator } from '@wxmp/wechat-sim/testing'
import { caught, miniProgram, REDIS_URL, simPost, simStats } from '../helpers/setup.js'

const worker = fileURLToPath(new URL('../helpers/token-worker.ts', import.meta.url))

/** Runs `callers` concurrent getAccessToken calls over `clients` clients in a child process, starting at `startAt`. */
async function inChild (sim: RunningSimulator, prefix: string, clients: number, callers: number, startAt: number): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@wxmp/source', worker], {
    env: {
      ...process.env,
      WORKER_CLIENTS: String(clients),
      WORKER_CALLERS: String(callers),
      WORKER_REDIS_URL: REDIS_URL,
      WORKER_PREFIX: prefix,
      WORKER_SIM_URL: sim.url,
      WORKER_APPID: sim.keys.appid,
      WORKER_SECRET: sim.keys.secret,
      WORKER_START_AT: String(startAt)
    },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let out = ''
  child.stdout.on('data', (c) => { out += c })
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  if (code !== 0) throw new Error(`token worker exited with ${code}`)
  return JSON.parse(out.trim()) as string[]
}

t.test('20 concurrent callers in 3 processes and 6 Redis connections cause exactly one token fetch', async (t) => {
  const sim = await startSimulator(t)
  // A slow WeChat widens the race: every caller asks while the first fetch is still in flight.
  await simPost(sim, '/sim/faults', { endpoint: 'stable_token', latencyMs: 400 })
  const prefix = redisPrefix()
  const local = [miniProgram(t, sim, { prefix }), miniProgram(t, sim, { prefix })]
  await Promise.all(local.map(async (m) => await m.redis.ping()))
  const startAt = Date.now() + 1500
  const children = [inChild(sim, prefix, 2, 7, startAt), inChild(sim, prefix, 2, 7, startAt)]
  await new Promise((resolve) => setTimeout(resolve, startAt - Date.now()))
  const mine = await Promise.all(Array.from({ length: 6 }, async (_, i) => await local[i % 2]!.client.getAccessToken()))
  const all = [...mine, ...(await Promise.all(children)).flat()]
  t.equal(all.length, 20)
  t.equal(new Set(all).size, 1, 'every caller got the same token')
  const stats = await simStats(sim)
  t.equal(stats.calls.stable_token, 1, 'WeChat saw one stable_token call')
})

t.test('a token due for refresh is replaced by one caller while the others keep using it', async (t) => {
  const sim = await startSimulator(t)
  const prefix = redisPrefix()
  const clients = [miniProgram(t, sim, { prefix }), miniProgram(t, sim, { prefix }), miniProgram(t, sim, { prefix })]
  const first = await clients[0]!.client.getAccessToken()
  // Make the cached token due for refresh but still valid, as it is in its last minutes.
  await clients[0]!.redis.hset(`wechat:access_token:${sim.keys.appid}`, 'refreshAt', String(Date.now() - 1))
  await simPost(sim, '/sim/faults', { endpoint: 'stable_token', latencyMs: 300 })
  const tokens = await Promise.all(Array.from({ length: 20 }, async (_, i) => await clients[i % 3]!.client.getAccessToken()))
  t.ok(tokens.every((x) => x === first), 'callers were served without waiting for WeChat')
  t.equal((await simStats(sim)).calls.stable_token, 2, 'one initial fetch, one refresh')
  const cached = await clients[1]!.client.accessTokens.read()
  t.ok(cached !== undefined && cached.refreshAt > Date.now(), 'the refreshed entry is not due again')
})

t.test('40001: the rejected token is dropped only while it is still cached, then each call retries once', async (t) => {
  const sim = await startSimulator(t)
  const prefix = redisPrefix()
  const clients = [miniProgram(t, sim, { prefix }), miniProgram(t, sim, { prefix }), miniProgram(t, sim, { prefix })]
  const old = await clients[0]!.client.getAccessToken()
  // Someone else forces a refresh: WeChat invalidates the cached token at once.
  const forced = await simPost(sim, '/cgi-bin/stable_token', { grant_type: 'client_credential', appid: sim.keys.appid, secret: sim.keys.secret, force_refresh: true })
  const user = await simPost(sim, '/sim/wx-login', {})
  const codes = await Promise.all(Array.from({ length: 10 }, async (_, i) => (await simPost(sim, '/sim/phone-code', { openid: user.openid, phoneNumber: `1380013800${i}` })).code as string))
  await simPost(sim, '/sim/faults', { endpoint: 'stable_token', latencyMs: 200 })
  const phones = await Promise.all(codes.map(async (code, i) => await clients[i % 3]!.client.getPhoneNumber(code)))
  t.same(phones.map((p) => p.purePhoneNumber).sort(), codes.map((_, i) => `1380013800${i}`).sort(), 'every call succeeded after its one retry')
  const stats = await simStats(sim)
  t.equal(stats.calls.stable_token, 3, 'the initial fetch, the forced refresh, and a single re-fetch for ten failures')
  t.equal(await clients[1]!.client.getAccessToken(), forced.access_token)
  t.notOk(await clients[2]!.client.accessTokens.drop(old), 'a late failure of the old token leaves the new one alone')
  t.equal(await clients[2]!.client.getAccessToken(), forced.access_token)
})

t.test('42001 (expired) gets a fresh token and one retry; a second rejection is an error, not a loop', async (t) => {
  const sim = await startSimulator(t)
  const { client } = miniProgram(t, sim)
  const token = await client.getAccessToken()
  await simPost(sim, '/sim/access-token/expire', { token })
  const user = await simPost(sim, '/sim/wx-login', {})
  const { code } = await simPost(sim, '/sim/phone-code', { openid: user.openid, phoneNumber: '13900139000' })
  t.equal((await client.getPhoneNumber(code)).phoneNumber, '13900139000')
  t.not(await client.getAccessToken(), token, 'the expired token was replaced')
  let stats = await simStats(sim)
  t.same([stats.calls.stable_token, stats.calls.getuserphonenumber], [2, 2])

  await simPost(sim, '/sim/faults', { endpoint: 'getuserphonenumber', errcode: 40001, times: 2 })
  const { code: code2 } = await simPost(sim, '/sim/phone-code', { openid: user.openid, phoneNumber: '13900139001' })
  const twice = await caught(client.getPhoneNumber(code2))
  t.same([twice.code, twice.details.errcode], ['WECHAT_ERROR', 40001], 'reported after one retry')
  stats = await simStats(sim)
  t.equal(stats.calls.getuserphonenumber, 4)
})

t.test('getPhoneNumber, checkSessionKey and their errors', async (t) => {
  const sim = await startSimulator(t)
  const { client, logs } = miniProgram(t, sim)
  const login = await simPost(sim, '/sim/wx-login', { openid: 'oPhone' })
  const session = await client.code2Session(login.code)
  const { code } = await simPost(sim, '/sim/phone-code', { openid: 'oPhone', phoneNumber: '+1 2025550123', countryCode: '1' })
  const phone = await client.getPhoneNumber(code)
  t.same(phone, { phoneNumber: '+12025550123', purePhoneNumber: '2025550123', countryCode: '1' })
  const again = await caught(client.getPhoneNumber(code))
  t.same([again.code, again.statusCode], ['PHONE_CODE_INVALID', 400])
  t.equal(await client.checkSessionKey('oPhone', session.sessionKey), true)
  await client.code2Session((await simPost(sim, '/sim/wx-login', { openid: 'oPhone' })).code)
  t.equal(await client.checkSessionKey('oPhone', session.sessionKey), false, 'a newer login replaced it')
  await simPost(sim, '/sim/faults', { endpoint: 'getuserphonenumber', errcode: 45011, times: 1 })
  t.equal((await caught(client.getPhoneNumber('x'))).code, 'WECHAT_RATE_LIMITED')
  const raw = logs.raw.join('\n')
  t.notOk(raw.includes('2025550123'), 'the phone number is never logged')
  t.notOk(raw.includes(await client.getAccessToken()), 'the access_token is never logged')
})

t.test('when WeChat is down and no token is cached, callers fail with WECHAT_UNAVAILABLE instead of hanging', async (t) => {
  const sim = await startSimulator(t)
  const { client } = miniProgram(t, sim, { retries: 1 })
  await simPost(sim, '/sim/faults', { endpoint: 'stable_token', errcode: -1 })
  const errors = await Promise.all(Array.from({ length: 5 }, async () => await caught(client.getAccessToken())))
  t.ok(errors.every((e) => e.code === 'WECHAT_UNAVAILABLE'))
})

t.test('with Redis gone, tokens still come from WeChat directly, so logins and phone numbers keep working', async (t) => {
  const sim = await startSimulator(t)
  const server = await privateRedis(t)
  const redis = new Redis(server.url, { keyPrefix: redisPrefix(), enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 200 })
  redis.on('error', () => {})
  t.teardown(() => { redis.disconnect() })
  const { client, logs } = miniProgram(t, sim, { redis })
  const cached = await client.getAccessToken()
  await server.stop()
  const user = await simPost(sim, '/sim/wx-login', {})
  const { code } = await simPost(sim, '/sim/phone-code', { openid: user.openid, phoneNumber: '13700137000' })
  t.equal((await client.getPhoneNumber(code)).phoneNumber, '13700137000')
  t.equal(await client.getAccessToken(), cached, 'stable_token hands back the same valid token')
  t.ok(logs.lines.some((l) => l.msg === 'access_token cache unavailable; fetching from WeChat directly'))
})
