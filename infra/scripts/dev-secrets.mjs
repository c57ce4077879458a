#!/usr/bin/env node
// Writes the development cluster's secrets into infra/k8s/overlays/dev/secrets/ (gitignored), where the dev
// overlay's secretGenerator reads them: TLS for the gateway and NATS, an nkey per NATS identity, the auth keys,
// a WeChat app and merchant, and the simulator's side of each key pair. Files that exist are kept, so reruns change nothing; delete the folder to
// start over. For development only: production secrets are created by hand (infra/README.md).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { NATS_IDENTITIES, alnum, dataKey, es256KeyPem, natsPublicKey, natsSeed, rsaPairPem, selfSignedTls, wechatIdentity } from '../../scripts/dev-secrets.mjs'

/** Where the pods mount their key Secrets (the deployments' volumeMounts). */
export const SECRETS_MOUNT = '/etc/wxmp/secrets'
/** The namespace of the dev overlay, which the gateway's certificate and the notify URL name. */
export const NAMESPACE = 'wxmp'

const DEFAULT_DIR = fileURLToPath(new URL('../k8s/overlays/dev/secrets', import.meta.url))

/**
 * Creates every missing dev secret file under `dir` and returns the folder.
 * @param {string} [dir]
 * @returns {Promise<string>}
 */
export async function writeDevSecrets (dir = DEFAULT_DIR) {
  /** @param {string} rel @param {() => string | Promise<string>} make */
  const once = async (rel, make) => {
    const file = join(dir, rel)
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
      writeFileSync(file, await make(), { mode: 0o600 })
    }
    return readFileSync(file, 'utf8')
  }
  /** @param {string} rel @param {Record<string, string>} vars */
  const envFile = async (rel, vars) => await once(rel, () => Object.entries(vars).map(([k, v]) => `${k}=${v}`).join('\n') + '\n')

  // The certificate names the gateway as the simulator (in-cluster) and a developer (port-forward) reach it.
  const tls = JSON.parse(await once('.state/gateway-tls.json', async () => {
    const gw = `gateway.${NAMESPACE}.svc`
    return JSON.stringify(await selfSignedTls([gw, `${gw}.cluster.local`, 'gateway', 'localhost', 'wxmp.localtest.me'], ['127.0.0.1']))
  }))
  await once('gateway-tls/tls.crt', () => tls.cert)
  await once('gateway-tls/tls.key', () => tls.key)

  // NATS: a certificate for the in-cluster names (its own CA, which every service trusts), and one nkey user
  // per identity of the permission matrix: the server gets the public keys, each service only its own seed.
  const natsTls = JSON.parse(await once('.state/nats-tls.json', async () => {
    const names = ['nats', `nats.${NAMESPACE}.svc`, `nats.${NAMESPACE}.svc.cluster.local`, 'localhost']
    return JSON.stringify(await selfSignedTls(names, []))
  }))
  await once('nats-tls/tls.crt', () => natsTls.cert)
  await once('nats-tls/tls.key', () => natsTls.key)
  await once('nats-tls/ca.crt', () => natsTls.cert)
  /** @type {Record<string, string>} */
  const natsUsers = {}
  for (const id of NATS_IDENTITIES) {
    const seed = (await once(`${id}-nats/nkey.seed`, natsSeed)).trim()
    await once(`${id}-nats/ca.crt`, () => natsTls.cert)
    natsUsers[`NATS_NKEY_${id.toUpperCase()}`] = natsPublicKey(seed)
  }
  await envFile('nats-users.env', natsUsers)

  const rsa = () => JSON.stringify(rsaPairPem())
  const merchant = JSON.parse(await once('.state/merchant-rsa.json', rsa))
  const wechatpay = JSON.parse(await once('.state/wechatpay-rsa.json', rsa))
  const ids = JSON.parse(await once('.state/ids.json', () => JSON.stringify({ ...wechatIdentity(), postgresPassword: alnum(24) })))
  const apiV3Key = await once('.state/apiv3-key', () => alnum(32))

  const redisUrl = 'redis://redis:6379'
  /** @param {string} db */
  const databaseUrl = (db) => `postgres://wxmp:${ids.postgresPassword}@postgres:5432/${db}`

  await envFile('postgres.env', { POSTGRES_PASSWORD: ids.postgresPassword })
  await envFile('gateway.env', { REDIS_URL: redisUrl })

  await once('auth-keys/jwt-dev.pem', es256KeyPem)
  await once('auth-keys/data-key', dataKey)
  await envFile('auth.env', {
    DATABASE_URL: databaseUrl('wxmp_auth'),
    REDIS_URL: redisUrl,
    WECHAT_APPID: ids.appid,
    WECHAT_SECRET: ids.secret,
    AUTH_JWT_PRIVATE_KEY_FILES: `dev=${SECRETS_MOUNT}/jwt-dev.pem`,
    AUTH_JWT_ACTIVE_KID: 'dev'
  })

  await envFile('user.env', { DATABASE_URL: databaseUrl('wxmp_user') })

  await once('payment-keys/merchant-key.pem', () => merchant.key)
  await once('payment-keys/apiv3-key', () => apiV3Key)
  await once('payment-keys/wechatpay-public.pem', () => wechatpay.pub)
  await envFile('payment.env', {
    DATABASE_URL: databaseUrl('wxmp_payment'),
    REDIS_URL: redisUrl,
    WECHAT_APPID: ids.appid,
    WECHAT_SECRET: ids.secret,
    WECHATPAY_MCHID: ids.mchid,
    WECHATPAY_MERCHANT_SERIAL_NO: ids.merchantSerialNo,
    WECHATPAY_PUBLIC_KEYS: `${ids.wechatpayPublicKeyId}=${SECRETS_MOUNT}/wechatpay-public.pem`,
    WECHATPAY_NOTIFY_URL: `https://gateway.${NAMESPACE}.svc.cluster.local/v1/payments/wechat/notify`
  })

  await once('wechat-sim-keys/merchant-public.pem', () => merchant.pub)
  await once('wechat-sim-keys/wechatpay-key.pem', () => wechatpay.key)
  await once('wechat-sim-keys/apiv3-key', () => apiV3Key)
  await once('wechat-sim-keys/gateway-ca.pem', () => tls.cert)
  await envFile('wechat-sim.env', {
    WECHAT_APPID: ids.appid,
    WECHAT_SECRET: ids.secret,
    WECHATPAY_MCHID: ids.mchid,
    WECHATPAY_MERCHANT_SERIAL_NO: ids.merchantSerialNo,
    SIM_WECHATPAY_PUBLIC_KEY_ID: ids.wechatpayPublicKeyId
  })
  return dir
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = await writeDevSecrets(process.argv[2])
  console.log(`dev-secrets: the dev overlay's secrets are in ${dir}`)
}
