import t from 'tap'
import { createHmac } from 'node:crypto'
import { startSimulator } from '../src/testing.js'
import { call, post } from './helpers/http.js'

const session = async (url: string, appid: string, secret: string, code: string) =>
  await call(`${url}/sns/jscode2session?${new URLSearchParams({ appid, secret, js_code: code, grant_type: 'authorization_code' }).toString()}`)

t.test('a wx.login code works once: the second exchange says 40163, an unknown one 40029', async (t) => {
  const sim = await startSimulator(t)
  const login = await post(`${sim.url}/sim/wx-login`, { openid: 'oStableUser', unionid: 'oUnion1' })
  t.equal(login.status, 200)
  t.equal(login.json.openid, 'oStableUser', 'the given openid is kept')
  const first = await session(sim.url, sim.keys.appid, sim.keys.secret, login.json.code)
  t.equal(first.json.openid, 'oStableUser')
  t.equal(first.json.unionid, 'oUnion1')
  t.equal(Buffer.from(first.json.session_key, 'base64').length, 16)
  t.notOk('errcode' in first.json, 'a success carries no errcode, as WeChat answers today')
  const second = await session(sim.url, sim.keys.appid, sim.keys.secret, login.json.code)
  t.equal(second.json.errcode, 40163)
  t.match(second.json.errmsg, /^code been used rid: /)
  const unknown = await session(sim.url, sim.keys.appid, sim.keys.secret, 'nope')
  t.equal(unknown.json.errcode, 40029)
  const generated = await call(`${sim.url}/sim/wx-login`, { method: 'POST' })
  t.equal(generated.status, 200, 'no body at all is fine')
  t.match(generated.json.openid, /^o[A-Za-z0-9_-]{27}$/, 'an openid is made up when none is given')
})

t.test('a code expires after its lifetime', async (t) => {
  const sim = await startSimulator(t, { SIM_CODE_TTL_SECONDS: '1' })
  const login = await post(`${sim.url}/sim/wx-login`, {})
  await new Promise((resolve) => setTimeout(resolve, 1200))
  const res = await session(sim.url, sim.keys.appid, sim.keys.secret, login.json.code)
  t.equal(res.json.errcode, 40029)
})

t.test('wrong appid or secret is refused with WeChat\'s errcodes, and a blocked user gets 40226', async (t) => {
  const sim = await startSimulator(t)
  const login = await post(`${sim.url}/sim/wx-login`, {})
  t.equal((await session(sim.url, 'wx0000000000000000', sim.keys.secret, login.json.code)).json.errcode, 40013)
  t.equal((await session(sim.url, sim.keys.appid, 'wrong', login.json.code)).json.errcode, 40125)
  const blocked = await post(`${sim.url}/sim/wx-login`, { blocked: true })
  t.equal((await session(sim.url, sim.keys.appid, sim.keys.secret, blocked.json.code)).json.errcode, 40226)
})

t.test('stable_token keeps its token; force_refresh replaces it and the old one answers 40001', async (t) => {
  const sim = await startSimulator(t)
  const body = { grant_type: 'client_credential', appid: sim.keys.appid, secret: sim.keys.secret }
  const a = await post(`${sim.url}/cgi-bin/stable_token`, body)
  const b = await post(`${sim.url}/cgi-bin/stable_token`, { ...body, force_refresh: false })
  t.equal(a.json.access_token, b.json.access_token)
  t.ok(a.json.expires_in > 7000 && a.json.expires_in <= 7200)
  const forced = await post(`${sim.url}/cgi-bin/stable_token`, { ...body, force_refresh: true })
  t.not(forced.json.access_token, a.json.access_token)
  const again = await post(`${sim.url}/cgi-bin/stable_token`, { ...body, force_refresh: true })
  t.equal(again.json.access_token, forced.json.access_token, 'no second forced refresh within 30 s')

  const login = await post(`${sim.url}/sim/wx-login`, {})
  const phone = await post(`${sim.url}/sim/phone-code`, { openid: login.json.openid, phoneNumber: '13800138000' })
  const stale = await post(`${sim.url}/wxa/business/getuserphonenumber?access_token=${a.json.access_token}`, { code: phone.json.code })
  t.equal(stale.json.errcode, 40001)
  const ok = await post(`${sim.url}/wxa/business/getuserphonenumber?access_token=${forced.json.access_token}`, { code: phone.json.code })
  t.equal(ok.json.errcode, 0, 'the phone code survived the rejected call')
  t.same(ok.json.phone_info.phoneNumber, '13800138000')
  t.equal(ok.json.phone_info.countryCode, '86')
  t.equal(ok.json.phone_info.watermark.appid, sim.keys.appid)
  const reused = await post(`${sim.url}/wxa/business/getuserphonenumber?access_token=${forced.json.access_token}`, { code: phone.json.code })
  t.equal(reused.json.errcode, 40029, 'a phone code works once')
  await post(`${sim.url}/sim/access-token/expire`, { token: forced.json.access_token })
  const expired = await post(`${sim.url}/wxa/business/getuserphonenumber?access_token=${forced.json.access_token}`, { code: 'x' })
  t.equal(expired.json.errcode, 42001)
  const stats = await call(`${sim.url}/sim/stats`)
  t.equal(stats.json.calls.stable_token, 4)
  t.equal(stats.json.stableTokensIssued, 2)
})

t.test('checksession accepts the current session_key\'s signature only', async (t) => {
  const sim = await startSimulator(t)
  const token = (await post(`${sim.url}/cgi-bin/stable_token`, { grant_type: 'client_credential', appid: sim.keys.appid, secret: sim.keys.secret })).json.access_token
  const login = await post(`${sim.url}/sim/wx-login`, {})
  const key = (await session(sim.url, sim.keys.appid, sim.keys.secret, login.json.code)).json.session_key
  const check = async (k: string) => await call(`${sim.url}/wxa/checksession?${new URLSearchParams({ access_token: token, openid: login.json.openid, sig_method: 'hmac_sha256', signature: createHmac('sha256', k).update('').digest('hex') }).toString()}`)
  t.equal((await check(key)).json.errcode, 0)
  const relogin = await post(`${sim.url}/sim/wx-login`, { openid: login.json.openid })
  await session(sim.url, sim.keys.appid, sim.keys.secret, relogin.json.code)
  t.equal((await check(key)).json.errcode, 87009, 'a new login replaces the session_key')
})

t.test('faults answer with the injected errcode for the given number of calls', async (t) => {
  const sim = await startSimulator(t)
  const f = await post(`${sim.url}/sim/faults`, { endpoint: 'jscode2session', errcode: 45011, errmsg: 'api minute-quota reach limit', times: 1 })
  t.equal(f.status, 200)
  const login = await post(`${sim.url}/sim/wx-login`, {})
  t.equal((await session(sim.url, sim.keys.appid, sim.keys.secret, login.json.code)).json.errcode, 45011)
  t.ok((await session(sim.url, sim.keys.appid, sim.keys.secret, login.json.code)).json.openid, 'the fault did not spend the code')
  await post(`${sim.url}/sim/faults`, { endpoint: '*', status: 502 })
  t.equal((await session(sim.url, sim.keys.appid, sim.keys.secret, 'x')).status, 502)
  t.equal((await call(`${sim.url}/sim/faults`, { method: 'DELETE' })).status, 204)
  t.equal((await session(sim.url, sim.keys.appid, sim.keys.secret, 'x')).json.errcode, 40029)
  const bad = await post(`${sim.url}/sim/faults`, { endpoint: 'nowhere', errcode: 1 })
  t.equal(bad.status, 400)
  t.equal(bad.json.error.code, 'VALIDATION_FAILED')
})

t.test('health endpoints answer', async (t) => {
  const sim = await startSimulator(t)
  t.equal((await call(`${sim.url}/healthz`)).status, 200)
  t.equal((await call(`${sim.url}/readyz`)).status, 200)
})
