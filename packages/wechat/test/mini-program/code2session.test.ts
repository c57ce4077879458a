import t from 'tap'
import { startSimulator } from '@wxmp/wechat-sim/testing'
import { caught, miniProgram, simPost, simStats } from '../helpers/setup.js'

t.test('code2Session returns the openid, session_key and unionid of a wx.login code', async (t) => {
  const sim = await startSimulator(t)
  const { client, logs } = miniProgram(t, sim)
  const { code } = await simPost(sim, '/sim/wx-login', { openid: 'oAlice', unionid: 'oUnionAlice' })
  const s = await client.code2Session(code)
  t.equal(s.openid, 'oAlice')
  t.equal(s.unionid, 'oUnionAlice')
  t.equal(Buffer.from(s.sessionKey, 'base64').length, 16)
  const reused = await caught(client.code2Session(code))
  t.same([reused.code, reused.statusCode, reused.details.errcode], ['AUTH_CODE_USED', 401, 40163])
  const raw = logs.raw.join('\n')
  t.notOk(raw.includes(code), 'the code is never logged')
  t.notOk(raw.includes(s.sessionKey), 'the session_key is never logged')
  t.notOk(raw.includes(sim.keys.secret), 'the secret is never logged')
})

t.test('each code2Session errcode maps to its catalogue error', async (t) => {
  const sim = await startSimulator(t)
  const { client } = miniProgram(t, sim, { retries: 2 })
  const cases: Array<[number, string, number]> = [
    [40029, 'AUTH_CODE_INVALID', 401],
    [40163, 'AUTH_CODE_USED', 401],
    [40226, 'AUTH_USER_BLOCKED', 403],
    [45011, 'WECHAT_RATE_LIMITED', 429],
    [40013, 'WECHAT_ERROR', 502],
    [61024, 'WECHAT_ERROR', 502]
  ]
  for (const [errcode, code, status] of cases) {
    await simPost(sim, '/sim/faults', { endpoint: 'jscode2session', errcode, times: 1 })
    const { code: login } = await simPost(sim, '/sim/wx-login', {})
    const e = await caught(client.code2Session(login))
    t.equal(e.code, code, `${errcode} -> ${code}`)
    t.equal(e.statusCode, status)
    t.equal(e.details.errcode, errcode, 'the errcode is kept in details')
  }
  const limited = await simPost(sim, '/sim/faults', { endpoint: 'jscode2session', errcode: 45011, times: 1 })
  t.ok(limited.faults)
  const e = await caught(client.code2Session('whatever'))
  t.equal(e.headers?.['retry-after'], '60', 'a rate limit says when to come back')
})

t.test('a real invalid code and a blocked user come from the simulator itself', async (t) => {
  const sim = await startSimulator(t)
  const { client } = miniProgram(t, sim)
  t.equal((await caught(client.code2Session('not-a-code'))).code, 'AUTH_CODE_INVALID')
  const { code } = await simPost(sim, '/sim/wx-login', { blocked: true })
  t.equal((await caught(client.code2Session(code))).code, 'AUTH_USER_BLOCKED')
})

t.test('-1 "system busy" is retried with backoff, and a code is still good afterwards', async (t) => {
  const sim = await startSimulator(t)
  const { client } = miniProgram(t, sim, { retries: 2 })
  await simPost(sim, '/sim/faults', { endpoint: 'jscode2session', errcode: -1, errmsg: 'system error', times: 2 })
  const { code } = await simPost(sim, '/sim/wx-login', { openid: 'oBusy' })
  t.equal((await client.code2Session(code)).openid, 'oBusy')
  t.equal((await simStats(sim)).calls.jscode2session, 3)
})

t.test('-1 past the retry budget becomes WECHAT_UNAVAILABLE (503), after a bounded number of calls', async (t) => {
  const sim = await startSimulator(t)
  const { client } = miniProgram(t, sim, { retries: 2 })
  await simPost(sim, '/sim/faults', { endpoint: 'jscode2session', errcode: -1 })
  const { code } = await simPost(sim, '/sim/wx-login', {})
  const e = await caught(client.code2Session(code))
  t.same([e.code, e.statusCode, e.details.errcode], ['WECHAT_UNAVAILABLE', 503, -1])
  t.equal((await simStats(sim)).calls.jscode2session, 3, 'one call and two retries, no more')
})

t.test('a 5xx from a proxy is retried; a timeout is not (the code may be spent) and becomes WECHAT_TIMEOUT', async (t) => {
  const sim = await startSimulator(t)
  const { client } = miniProgram(t, sim, { retries: 1, timeoutMs: 300 })
  await simPost(sim, '/sim/faults', { endpoint: 'jscode2session', status: 502, times: 1 })
  const { code } = await simPost(sim, '/sim/wx-login', { openid: 'oProxy' })
  t.equal((await client.code2Session(code)).openid, 'oProxy')
  await simPost(sim, '/sim/faults', { endpoint: 'jscode2session', latencyMs: 1000, times: 1 })
  const { code: slow } = await simPost(sim, '/sim/wx-login', {})
  const e = await caught(client.code2Session(slow))
  t.same([e.code, e.statusCode], ['WECHAT_TIMEOUT', 504])
  t.equal((await simStats(sim)).calls.jscode2session, 3)
})

t.test('WeChat unreachable is WECHAT_UNAVAILABLE', async (t) => {
  const sim = await startSimulator(t)
  const { client } = miniProgram(t, sim, { baseUrl: 'http://127.0.0.1:9', retries: 1 })
  t.equal((await caught(client.code2Session('x'))).code, 'WECHAT_UNAVAILABLE')
})
