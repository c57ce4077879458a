import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Contracts, WECHAT_PUSH_METHOD_HEADER, WECHAT_PUSH_QUERY_HEADER } from '@wxmp/contracts'
import { buildTestService, type TestService } from '@wxmp/service/testing'
import type { Teardown } from '@wxmp/testing'
import authApp from '@wxmp/auth/app'
import { authTestEnv } from '@wxmp/auth/testing'
import { ConfigSchema as AuthConfig } from '@wxmp/auth/config'
import { configurePush, type RunningSimulator } from '@wxmp/wechat-sim/testing'
import type { PaymentHarness } from './harness.js'

/**
 * WeChat's message push for service tests: the real auth service (which verifies each push and publishes it as
 * events.wechat.<event>) behind a push URL that does what the gateway's /v1/wechat/push does (raw query string and
 * body to auth.wechatPush as the gateway, auth's answer back), with the simulator pushing to it in safe mode.
 */
export async function withPushes (t: Teardown, h: PaymentHarness): Promise<TestService<typeof AuthConfig>> {
  // Filled once auth is built: its push env comes from the simulator, which needs this server's URL first.
  const target: { auth?: TestService<typeof AuthConfig> } = {}
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = req.url ?? ''
      const i = url.indexOf('?')
      const headers = { [WECHAT_PUSH_QUERY_HEADER]: i < 0 ? '' : url.slice(i + 1), [WECHAT_PUSH_METHOD_HEADER]: req.method === 'GET' ? 'GET' : 'POST' }
      const auth = target.auth
      if (auth === undefined) { res.statusCode = 503; res.end(); return }
      // As the gateway, the one caller the permission matrix lets send auth.wechatPush.
      auth.callers.request(Contracts.auth.wechatPush, Buffer.concat(chunks), undefined, { headers }).then(({ data }) => {
        res.setHeader('content-type', 'text/plain')
        res.end(data.body)
      }, (err: { statusCode?: number }) => {
        res.statusCode = err.statusCode ?? 500
        res.end('error')
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }) })
  const pushEnv = await configurePush(h.sim as RunningSimulator, `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/wechat/push`)
  target.auth = await buildTestService(t, { name: 'auth', schema: AuthConfig, app: authApp, prefix: h.prefix, env: { ...authTestEnv(), ...h.sim.env, ...pushEnv } })
  return target.auth
}
