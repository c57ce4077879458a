import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildTestService, type TestService } from '@wxmp/service/testing'
import { natsPrefix, rsaKeyPairSync, type Teardown } from '@wxmp/testing'
import authApp from '@wxmp/auth/app'
import { authTestEnv } from '@wxmp/auth/testing'
import { ConfigSchema as AuthConfig } from '@wxmp/auth/config'
import userApp from '@wxmp/user/app'
import { ConfigSchema as UserConfig } from '@wxmp/user/config'
import paymentApp from '@wxmp/payment/app'
import { ConfigSchema as PaymentConfig } from '@wxmp/payment/config'
import { buildGateway, type Gateway, type GatewayExtras } from './gateway.js'

export * from './gateway.js'

/** The settings the auth service needs beyond the shared ones: signing and data keys in files, a WeChat app. */
export function authEnv (): Record<string, string> {
  return authTestEnv()
}

let payKeys: { merchantKey: string, wechatpayPublicKey: string, apiV3Key: string } | undefined

/**
 * The settings the payment service needs to boot: a WeChat app (its server API reports shipping), merchant and
 * WeChat Pay keys in files, a merchant and a notify URL. WeChat and WeChat Pay themselves are unreachable here; a
 * test that pays passes a simulator's env over these.
 */
export function paymentEnv (): Record<string, string> {
  if (payKeys === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'wxmp-pay-'))
    const merchantKey = join(dir, 'merchant-key.pem')
    writeFileSync(merchantKey, rsaKeyPairSync().privateKey, { mode: 0o600 })
    const wechatpayPublicKey = join(dir, 'wechatpay-public.pem')
    writeFileSync(wechatpayPublicKey, rsaKeyPairSync().publicKey)
    const apiV3Key = join(dir, 'apiv3-key')
    writeFileSync(apiV3Key, randomBytes(16).toString('hex'), { mode: 0o600 })
    payKeys = { merchantKey, wechatpayPublicKey, apiV3Key }
  }
  return {
    WECHAT_APPID: 'wx' + randomBytes(8).toString('hex'),
    WECHAT_SECRET: randomBytes(16).toString('hex'),
    WECHAT_API_BASE_URL: 'http://127.0.0.1:9',
    WECHATPAY_API_BASE_URL: 'http://127.0.0.1:9',
    WECHATPAY_MCHID: '1900000109',
    WECHATPAY_MERCHANT_SERIAL_NO: randomBytes(20).toString('hex').toUpperCase(),
    WECHATPAY_MERCHANT_PRIVATE_KEY_FILE: payKeys.merchantKey,
    WECHATPAY_APIV3_KEY_FILE: payKeys.apiV3Key,
    WECHATPAY_PUBLIC_KEYS: `PUB_KEY_ID_0100000000000000000000000000=${payKeys.wechatpayPublicKey}`,
    WECHATPAY_NOTIFY_URL: 'https://127.0.0.1:9/v1/payments/wechat/notify'
  }
}

export interface Stack {
  prefix: string
  gateway: Gateway
  auth: TestService<typeof AuthConfig>
  user: TestService<typeof UserConfig>
  payment: TestService<typeof PaymentConfig>
}

/** The gateway and the three services, each on its own database, sharing one NATS prefix. */
export async function buildStack (t: Teardown, env: { gateway?: Record<string, string>, https?: boolean, extras?: GatewayExtras, services?: { auth?: Record<string, string>, user?: Record<string, string>, payment?: Record<string, string> } } = {}): Promise<Stack> {
  const prefix = natsPrefix()
  const [auth, user, payment] = await Promise.all([
    buildTestService(t, { name: 'auth', schema: AuthConfig, app: authApp, prefix, env: { ...authEnv(), ...env.services?.auth } }),
    buildTestService(t, { name: 'user', schema: UserConfig, app: userApp, prefix, ...(env.services?.user === undefined ? {} : { env: env.services.user }) }),
    buildTestService(t, { name: 'payment', schema: PaymentConfig, app: paymentApp, prefix, env: { ...paymentEnv(), ...env.services?.payment } })
  ])
  const gateway = await buildGateway(t, prefix, env.gateway, true, env.extras)
  return { prefix, gateway, auth, user, payment }
}
