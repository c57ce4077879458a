import t from 'tap'
import { call } from '../helpers/client.js'
import { buildWechatStack } from './wechat-stack.js'

// Regression: auth built its MiniProgramClient by hand and never read WECHAT_TIMEOUT_MS, so a slow WeChat held
// every login for the client's built-in 5 s deadline whatever the deployment set.
t.test('WECHAT_TIMEOUT_MS bounds code2Session: a slow WeChat gets the upstream-timeout envelope, not a wait', async (t) => {
  // Shedding off: on a machine busy enough to lag the event loop a 503 OVERLOADED would hide the answer under test.
  const s = await buildWechatStack(t, { PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0' }, { WECHAT_TIMEOUT_MS: '200' })
  const fault = await fetch(`${s.sim.url}/sim/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    // Shorter than the gateway's 8 s login deadline and the client's default: only the setting can cut it short.
    body: JSON.stringify({ endpoint: 'jscode2session', latencyMs: 4000, times: 1 })
  })
  t.ok(fault.ok, await fault.text())
  const res = await call(`${s.url}/v1/auth/wechat/login`, { method: 'POST', body: JSON.stringify({ code: (await s.wxLogin()).code }), headers: { 'content-type': 'application/json' } })
  t.equal(res.status, 504, res.body)
  t.equal(res.json().error.code, 'WECHAT_TIMEOUT')
  t.match(res.json().error.traceId, /^[0-9a-f]{32}$/)
})
