import { Type, type Static } from '@sinclair/typebox'
import { stepUpConfigProperties } from '@wxmp/core'
import { serviceConfigSchema } from '@wxmp/service'
import { wechatConfigProperties, wechatPushConfigProperties } from '@wxmp/wechat'

/** Every setting of the auth service, read from the environment; see README.md for each variable. */
export const ConfigSchema = serviceConfigSchema({
  port: 9091,
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/wxmp_auth',
  redisKeyPrefix: 'wxmp:auth:'
}, {
  AUTH_JWT_PRIVATE_KEY_FILES: Type.String({
    pattern: '^[A-Za-z0-9._-]+=[^,=]+(,[A-Za-z0-9._-]+=[^,=]+)*$',
    description: 'Signing keys as `kid=/path/to/es256-pkcs8.pem`, comma-separated; every key is published in the JWKS, so rotation is adding a key, switching AUTH_JWT_ACTIVE_KID, and removing the old key after 15 minutes.'
  }),
  AUTH_JWT_ACTIVE_KID: Type.String({ minLength: 1, description: 'The kid that signs new access tokens.' }),
  AUTH_DATA_KEY_FILE: Type.String({ minLength: 1, description: 'File with a base64 32-byte AES key that encrypts session_key and TOTP secrets at rest.' }),
  // The mini-program settings are @wxmp/wechat's own, so the client honours every one it documents (WECHAT_TIMEOUT_MS).
  ...wechatConfigProperties,
  // auth owns the message push URL (the Token and EncodingAESKey with it); an empty Token serves no push receiver.
  ...wechatPushConfigProperties,
  WECHAT_PUSH_TOKEN: Type.String({ default: '', pattern: '^([A-Za-z0-9]{3,32})?$', description: 'The message push Token set in the mini-program console; empty: no push receiver (auth.wechatPush is not served).' }),
  SESSION_TTL_DAYS: Type.Integer({ default: 30, minimum: 1, maximum: 365, description: 'Absolute lifetime of a session and its refresh tokens.' }),
  REFRESH_REUSE_GRACE_SECONDS: Type.Integer({ default: 5, minimum: 0, maximum: 60, description: 'How long the immediately previous refresh token still rotates (two tabs refreshing at once).' }),
  SESSION_KEY_TTL_SECONDS: Type.Integer({ default: 3 * 24 * 3600, minimum: 60, description: 'How long the encrypted session_key is kept in Redis after a login.' }),
  LOGIN_REPLAY_WINDOW_SECONDS: Type.Integer({ default: 10, minimum: 0, maximum: 300, description: 'A repeated login code inside this window gets the first login\'s answer; later, AUTH_CODE_USED.' }),
  LOCKOUT_MAX_FAILURES: Type.Integer({ default: 5, minimum: 1 }),
  LOCKOUT_WINDOW_SECONDS: Type.Integer({ default: 900, minimum: 1, description: 'Failures are counted over this window.' }),
  LOCKOUT_SECONDS: Type.Integer({ default: 900, minimum: 1, description: 'How long a username stays locked.' }),
  BCRYPT_COST: Type.Integer({ default: 12, minimum: 4, maximum: 15, description: 'bcrypt work factor; 12 in production, lower only in tests.' }),
  // The gateway refuses stale tokens on step-up routes; auth checks its own admin subjects again with the same windows.
  ...stepUpConfigProperties
})

export type Config = Static<typeof ConfigSchema>
