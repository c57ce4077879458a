import type { FastifyInstance } from 'fastify'
import { fileURLToPath } from 'node:url'
import { packageInfo } from '@wxmp/core'
import { REVOCATION_BUCKET } from '@wxmp/contracts'
import { serviceBase } from '@wxmp/service'
import { miniProgramClientFromConfig, pushCodecFromConfig } from '@wxmp/wechat'
import type { Config } from './config.js'
import { Audit } from './domain/audit.js'
import { DataBox } from './domain/data-box.js'
import { Lockout } from './domain/lockout.js'
import { Passwords } from './domain/passwords.js'
import { Republisher } from './domain/republisher.js'
import { Revocations } from './domain/revocations.js'
import { Sessions } from './domain/sessions.js'
import { SigningKeys } from './domain/signing-keys.js'
import { Totp } from './domain/totp.js'
import { WechatLogin } from './domain/wechat-login.js'
import { PushReceiver } from './domain/push-receiver.js'
import { authEndpoints, pushEndpoint } from './handlers/auth.js'

export const SERVICE = { name: 'auth', version: packageInfo(import.meta.url).version }
const migrationsDir = fileURLToPath(new URL('../src/db/migrations', import.meta.url))

/**
 * The auth service: wx.login, tokens and sessions, passwords, TOTP, phone binding, and the mini-program's message
 * push (published as events.wechat.<event>); served over NATS.
 */
export default async function app (fastify: FastifyInstance, opts: { config: Config }): Promise<void> {
  const { config } = opts
  await fastify.register(serviceBase, { service: SERVICE, config, migrationsDir, useRedis: true, useOutbox: true })

  const log = fastify.log
  const keys = await SigningKeys.fromFiles(config.AUTH_JWT_PRIVATE_KEY_FILES, config.AUTH_JWT_ACTIVE_KID)
  const box = DataBox.fromFile(config.AUTH_DATA_KEY_FILE)
  const revocations = await Revocations.open(fastify.nats, config.NATS_SUBJECT_PREFIX, {
    replicas: config.NATS_JS_REPLICAS,
    // Below the caller's request timeout, so a logout during an outage answers 503 rather than timing out.
    timeoutMs: Math.max(Math.floor(config.NATS_REQUEST_TIMEOUT_MS / 2), 100),
    log
  })
  const audit = new Audit(fastify.pg.pool)
  const sessions = new Sessions(fastify.pg.pool, keys, revocations, { sessionTtlDays: config.SESSION_TTL_DAYS, reuseGraceSeconds: config.REFRESH_REUSE_GRACE_SECONDS }, audit)
  const wechat = miniProgramClientFromConfig(config, { redis: fastify.redis, log })
  const wechatLogin = new WechatLogin(wechat, fastify.natsClient, sessions, fastify.redis, box, {
    appid: config.WECHAT_APPID,
    replayWindowSeconds: config.LOGIN_REPLAY_WINDOW_SECONDS,
    sessionKeyTtlSeconds: config.SESSION_KEY_TTL_SECONDS
  }, log)
  const lockout = new Lockout(fastify.redis, { maxFailures: config.LOCKOUT_MAX_FAILURES, windowSeconds: config.LOCKOUT_WINDOW_SECONDS, lockSeconds: config.LOCKOUT_SECONDS }, log)
  const totp = new Totp(fastify.pg.pool, box)
  const passwords = new Passwords(fastify.pg.pool, lockout, totp, config.BCRYPT_COST, audit)

  fastify.natsServe(...authEndpoints({ keys, sessions, wechatLogin, passwords, totp, nats: fastify.natsClient, phoneOf: async (code) => await wechat.getPhoneNumber(code), audit, stepUpMoneyS: config.STEP_UP_MONEY_S }))
  if (config.WECHAT_PUSH_TOKEN !== '') {
    fastify.natsServe(pushEndpoint(new PushReceiver(fastify.pg.pool, pushCodecFromConfig(config))))
  } else {
    log.warn('WECHAT_PUSH_TOKEN is empty: no message push receiver, so shipping reminders and settlements are not heard')
  }
  // If NATS lost the bucket, gateways must still learn about recent logouts; in the background, so an
  // unavailable bucket delays nothing else and fails nothing.
  const republisher = new Republisher({ republish: async () => await sessions.republishRecent(REVOCATION_BUCKET.ttlMs), log })
  fastify.addHook('onReady', async () => { republisher.start() })
  fastify.addHook('preClose', async () => { await republisher.stop() })
}
