import t from 'tap'
import { buildTestService } from '@wxmp/service/testing'
import app from '../src/app.js'
import { ConfigSchema } from '../src/config.js'

const APPID = 'wx0123456789abcdef'

t.test('user.identity tells another service the WeChat identity of a user; none for password-only or unknown users', async (t) => {
  const { callers: svc } = await buildTestService(t, { name: 'user', schema: ConfigSchema, app })
  const call = async <T>(subject: string, body: unknown) => (await svc.request<T>(subject, body, undefined)).data
  const { user } = await call<{ user: { id: string } }>('user.ensure', { appid: APPID, openid: 'o-payer-1' })
  t.same(await call('user.identity', { userId: user.id }), { appid: APPID, openid: 'o-payer-1' })
  const plain = await call<{ id: string }>('user.create', {})
  await t.rejects(svc.request('user.identity', { userId: plain.id }, undefined), { statusCode: 404, code: 'NOT_FOUND' })
  await t.rejects(svc.request('user.identity', { userId: '00000000-0000-4000-8000-000000000000' }, undefined), { statusCode: 404, code: 'NOT_FOUND' })
  await t.rejects(svc.request('user.identity', { userId: 'nope' }, undefined), { statusCode: 400, code: 'VALIDATION_FAILED' })
})
