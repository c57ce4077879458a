import t from 'tap'
import https from 'node:https'
import { mkdtempSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '@wxmp/core'
import { eventually, selfSignedCert } from '@wxmp/testing'
import { ConfigSchema } from '../src/config.js'
import { simulatorEnv, simulatorKeys, startSimulator } from '../src/testing.js'
import { payCall, post, prepayBody, signedBySim } from './helpers/http.js'

t.test('notifications reach an HTTPS merchant whose self-signed certificate is trusted through SIM_NOTIFY_CA_FILE', async (t) => {
  const { cert, key } = await selfSignedCert()
  const dir = mkdtempSync(join(tmpdir(), 'wxmp-sim-ca-'))
  writeFileSync(join(dir, 'ca.pem'), cert)
  const bodies: Array<{ headers: Record<string, string>, body: string }> = []
  const server = https.createServer({ cert, key }, (req, res) => {
    let body = ''
    req.on('data', (c) => { body += c })
    req.on('end', () => { bodies.push({ headers: req.headers as Record<string, string>, body }); res.statusCode = 204; res.end() })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const url = `https://localhost:${(server.address() as AddressInfo).port}/v1/payments/wechat/notify`

  const sim = await startSimulator(t, { SIM_NOTIFY_CA_FILE: join(dir, 'ca.pem') })
  await payCall(sim, 'POST', '/v3/pay/transactions/jsapi', prepayBody(sim, 'ORDERTLS001', url))
  await post(`${sim.url}/sim/pay`, { outTradeNo: 'ORDERTLS001', result: 'SUCCESS' })
  await eventually(() => bodies.length, (n) => n > 0)
  t.equal(bodies.length, 1, 'delivered once: 204 counts as accepted')
  t.ok(signedBySim(sim, bodies[0]!.headers, bodies[0]!.body))
  // the merchant has the body before the simulator has read its answer and recorded the delivery
  const state = await eventually(() => sim.app.sim.notifier.list()[0]?.state, (s) => s === 'delivered')
  t.equal(state, 'delivered')
})

t.test('a missing or unreadable setting stops the simulator with the variable\'s name', async (t) => {
  const keys = await simulatorKeys()
  const env = simulatorEnv(keys)
  delete env.SIM_WECHATPAY_PUBLIC_KEY_ID
  let error: unknown
  try { loadConfig(ConfigSchema, env) } catch (err) { error = err }
  t.ok(error instanceof ConfigError && error.variables.includes('SIM_WECHATPAY_PUBLIC_KEY_ID'), 'the missing variable is named')
  await t.rejects(startSimulator(t, { SIM_MERCHANT_PUBLIC_KEY_FILE: '/nonexistent/key.pem' }), { name: 'ConfigError', message: /SIM_MERCHANT_PUBLIC_KEY_FILE/ })
})
