import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { es256PrivateKeyPem } from '@wxmp/testing'

/** A fresh ES256 private key in a file, as production mounts it. */
export function writeEs256Key (dir: string, name: string): string {
  const file = join(dir, `${name}.pem`)
  writeFileSync(file, es256PrivateKeyPem(), { mode: 0o600 })
  return file
}

/**
 * The settings auth needs beyond the shared test ones: signing keys and a data key in a temporary
 * folder, and a WeChat app. `wechatBaseUrl` points at a simulator when the test logs in with WeChat.
 */
export function authTestEnv (opts: { wechatBaseUrl?: string, appid?: string, secret?: string } = {}): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'wxmp-auth-'))
  const key = writeEs256Key(dir, 'k1')
  const dataKey = join(dir, 'data-key')
  writeFileSync(dataKey, randomBytes(32).toString('base64'), { mode: 0o600 })
  return {
    AUTH_JWT_PRIVATE_KEY_FILES: `k1=${key}`,
    AUTH_JWT_ACTIVE_KID: 'k1',
    AUTH_DATA_KEY_FILE: dataKey,
    WECHAT_APPID: opts.appid ?? 'wx' + randomBytes(8).toString('hex'),
    WECHAT_SECRET: opts.secret ?? randomBytes(16).toString('hex'),
    WECHAT_API_BASE_URL: opts.wechatBaseUrl ?? 'http://127.0.0.1:9',
    BCRYPT_COST: '10'
  }
}
