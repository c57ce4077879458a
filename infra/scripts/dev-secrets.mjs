#!/usr/bin/env node
// Writes the development cluster's secrets into infra/k8s/overlays/dev/secrets/ (gitignored), where the dev
// overlay's secretGenerator reads them: TLS for the gateway and NATS, an nkey per NATS identity, the auth keys,
// a WeChat app and merchant, and the simulator's side of each key pair. Files that exist are kept, so reruns change nothing; delete the folder to
// start over. For development only: production secrets are created by hand (infra/README.md).
import { generateKeyPairSync, randomBytes, randomInt } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generate } from 'selfsigned'
import { createUser, fromSeed } from '@nats-io/nkeys'

/** Where the pods mount their key Secrets (the deployments' volumeMounts). */
export const SECRETS_MOUNT = '/etc/wxmp/secrets'
/** The namespace of the dev overlay, which the gateway's certificate and the notify URL name. */
export const NAMESPACE = 'wxmp'

/** The identities of the NATS permission matrix (packages/nats/src/permissions.ts, NATS_IDENTITIES). */
export const NATS_IDENTITIES = ['gateway', 'auth', 'user', 'payment', 'monitoring']

/** @param {string} seed */
const publicKeyOf = (seed) => fromSeed(new TextEncoder().encode(seed)).getPublicKey()

const DEFAULT_DIR = fileURLToPath(new URL('../k8s/overlays/dev/secrets', import.meta.url))

/** @param {number} n */
const alnum = (n) => Array.from({ length: n }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[randomInt(62)]).join('')
/** @param {number} n */
const digits = (n) => Array.from({ length: n }, () => String(randomInt(10))).join('')

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
    const pems = await generate([{ name: 'commonName', value: gw }], {
      keySize: 2048,
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 825 * 24 * 3600 * 1000),
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            ...[gw, `${gw}.cluster.local`, 'gateway', 'localhost', 'wxmp.localtest.me'].map((value) => ({ type: /** @type {const} */ (2), value })),
            { type: /** @type {const} */ (7), ip: '127.0.0.1' }
          ]
        }
      ]
    })
    return JSON.stringify({ cert: pems.cert, key: pems.private })
  }))
  await once('gateway-tls/tls.crt', () => tls.cert)
  await once('gateway-tls/tls.key', () => tls.key)

  // NATS: a certificate for the in-cluster names (its own CA, which every service trusts), and one nkey user
  // per identity of the permission matrix: the server gets the public keys, each service only its own seed.
  const natsTls = JSON.parse(await once('.state/nats-tls.json', async () => {
    const names = ['nats', `nats.${NAMESPACE}.svc`, `nats.${NAMESPACE}.svc.cluster.local`, 'localhost']
    const pems = await generate([{ name: 'commonName', value: `nats.${NAMESPACE}.svc` }], {
      keySize: 2048,
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 825 * 24 * 3600 * 1000),
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: names.map((value) => ({ type: /** @type {const} */ (2), value })) }
      ]
    })
    return JSON.stringify({ cert: pems.cert, key: pems.private })
  }))
  await once('nats-tls/tls.crt', () => natsTls.cert)
  await once('nats-tls/tls.key', () => natsTls.key)
  await once('nats-tls/ca.crt', () => natsTls.cert)
  /** @type {Record<string, string>} */
  const natsUsers = {}
  for (const id of NATS_IDENTITIES) {
    const seed = (await once(`${id}-nats/nkey.seed`, () => new TextDecoder().decode(createUser().getSeed()))).trim()
    await once(`${id}-nats/ca.crt`, () => natsTls.cert)
    natsUsers[`NATS_NKEY_${id.toUpperCase()}`] = publicKeyOf(seed)
  }
  await envFile('nats-users.env', natsUsers)

  const rsa = () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    return JSON.stringify({ key: privateKey.export({ type: 'pkcs8', format: 'pem' }), pub: publicKey.export({ type: 'spki', format: 'pem' }) })
  }
  const merchant = JSON.parse(await once('.state/merchant-rsa.json', rsa))
  const wechatpay = JSON.parse(await once('.state/wechatpay-rsa.json', rsa))
  const ids = JSON.parse(await once('.state/ids.json', () => JSON.stringify({
    appid: 'wx' + randomBytes(8).toString('hex'),
    secret: randomBytes(16).toString('hex'),
    mchid: '19' + digits(8),
    merchantSerialNo: randomBytes(20).toString('hex').toUpperCase(),
    wechatpayPublicKeyId: 'PUB_KEY_ID_01' + digits(28),
    postgresPassword: alnum(24)
  })))
  const apiV3Key = await once('.state/apiv3-key', () => alnum(32))

  const redisUrl = 'redis://redis:6379'
  /** @param {string} db */
  const databaseUrl = (db) => `postgres://wxmp:${ids.postgresPassword}@postgres:5432/${db}`

  await envFile('postgres.env', { POSTGRES_PASSWORD: ids.postgresPassword })
  await envFile('gateway.env', { REDIS_URL: redisUrl })

  await once('auth-keys/jwt-dev.pem', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())
  await once('auth-keys/data-key', () => randomBytes(32).toString('base64'))
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
