// Generates the development certificates, keys and env file in .dev/ once; later starts reuse them.
// The generators are exported: infra/scripts/dev-secrets.mjs writes the dev cluster's secrets with the same ones.
import { createHash, generateKeyPairSync, randomBytes, randomInt } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generate } from 'selfsigned'
import { createUser, fromSeed } from '@nats-io/nkeys'

const root = dirname(dirname(fileURLToPath(import.meta.url)))

/** @param {number} n */
export const alnum = (n) => Array.from({ length: n }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[randomInt(62)]).join('')
/** @param {number} n */
export const digits = (n) => Array.from({ length: n }, () => String(randomInt(10))).join('')

/**
 * A self-signed server certificate for the first of `names` (and every one of them and of `ips` as alternative
 * names), valid for 825 days, the longest a browser accepts. `clientAuth` makes it usable as a client certificate too
 * (a NATS route: each server of a cluster presents it to its peers and verifies theirs).
 * @param {string[]} names
 * @param {string[]} ips
 * @param {{ clientAuth?: boolean }} [opts]
 * @returns {Promise<{ cert: string, key: string }>}
 */
export async function selfSignedTls (names, ips, opts = {}) {
  const pems = await generate([{ name: 'commonName', value: names[0] ?? 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 825 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: opts.clientAuth === true },
      {
        name: 'subjectAltName',
        altNames: [
          ...names.map((value) => ({ type: /** @type {const} */ (2), value })),
          ...ips.map((ip) => ({ type: /** @type {const} */ (7), ip }))
        ]
      }
    ]
  })
  return { cert: pems.cert, key: pems.private }
}

/**
 * A fresh RSA-2048 key pair as PEM (PKCS#8 private, SPKI public): the merchant's or WeChat Pay's.
 * @returns {{ key: string, pub: string }}
 */
export function rsaPairPem () {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return { key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), pub: publicKey.export({ type: 'spki', format: 'pem' }).toString() }
}

/**
 * A fresh P-256 private key as PKCS#8 PEM: auth's ES256 token signing key.
 * @returns {string}
 */
export const es256KeyPem = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()

/**
 * A made-up mini-program and merchant, shaped like WeChat's own identifiers.
 * @returns {{ appid: string, secret: string, mchid: string, merchantSerialNo: string, wechatpayPublicKeyId: string }}
 */
export const wechatIdentity = () => ({
  appid: 'wx' + randomBytes(8).toString('hex'),
  secret: randomBytes(16).toString('hex'),
  mchid: '19' + digits(8),
  merchantSerialNo: randomBytes(20).toString('hex').toUpperCase(),
  wechatpayPublicKeyId: 'PUB_KEY_ID_01' + digits(28)
})

/** A random 32-byte data key, base64: what auth seals session keys with. */
/** The identities of the NATS permission matrix (packages/nats/src/permissions.ts, NATS_IDENTITIES). */
export const NATS_IDENTITIES = ['gateway', 'auth', 'user', 'payment', 'monitoring', 'provisioner']
/** A new nkey user seed (`SU...`). */
export const natsSeed = () => new TextDecoder().decode(createUser().getSeed())
/** The public key (`U...`) of a user seed. @param {string} seed */
export const natsPublicKey = (seed) => fromSeed(new TextEncoder().encode(seed.trim())).getPublicKey()

export const dataKey = () => randomBytes(32).toString('base64')

/**
 * The secrets of the mini-program's message push: the console's Token and 43-character EncodingAESKey.
 * @returns {{ token: string, encodingAesKey: string }}
 */
export const pushSecrets = () => ({ token: alnum(32), encodingAesKey: alnum(43) })

/**
 * Creates every missing file of the local stack's secrets under `dev` and writes `dev.env`; returns its variables.
 * @param {string} [dev]
 * @returns {Promise<Record<string, string>>}
 */
export async function writeLocalDevSecrets (dev = join(root, '.dev')) {
  /** @param {string} file @param {string | Buffer} content */
  const write = (file, content, mode = 0o600) => {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
    writeFileSync(file, content, { mode })
  }
  /** Reads a generated value back, or creates it once. @param {string} file @param {() => string} make */
  const once = (file, make, mode = 0o600) => {
    if (!existsSync(file)) write(file, make(), mode)
    return readFileSync(file, 'utf8').trim()
  }
  /** @param {string} dir @param {string} name */
  const rsaPair = (dir, name) => {
    const key = join(dir, `${name}-key.pem`)
    const pub = join(dir, `${name}-public.pem`)
    if (!existsSync(key) || !existsSync(pub)) {
      const pair = rsaPairPem()
      write(key, pair.key)
      write(pub, pair.pub, 0o644)
    }
    return { key, pub }
  }

  const cert = join(dev, 'tls', 'cert.pem')
  const key = join(dev, 'tls', 'key.pem')
  if (!existsSync(cert) || !existsSync(key)) {
    const tls = await selfSignedTls(['localhost'], ['127.0.0.1', '::1'])
    write(key, tls.key)
    write(cert, tls.cert, 0o644)
    console.log('dev-secrets: created a self-signed certificate for localhost in .dev/tls/')
  }

  const authDir = join(dev, 'auth')
  const jwtKey = join(authDir, 'jwt-es256-key.pem')
  once(jwtKey, es256KeyPem)
  const kid = 'dev-' + createHash('sha256').update(readFileSync(jwtKey)).digest('hex').slice(0, 12)
  const authDataKey = join(authDir, 'data-key')
  once(authDataKey, dataKey)

  const dir = join(dev, 'wechat')
  const app = JSON.parse(once(join(dir, 'app.json'), () => { const { appid, secret } = wechatIdentity(); return JSON.stringify({ appid, secret }) }))
  const pay = JSON.parse(once(join(dir, 'merchant.json'), () => {
    const { mchid, merchantSerialNo, wechatpayPublicKeyId } = wechatIdentity()
    return JSON.stringify({ mchid, merchantSerialNo, wechatpayPublicKeyId })
  }))
  const merchant = rsaPair(dir, 'merchant')
  const platform = rsaPair(dir, 'wechatpay')
  const apiV3Key = join(dir, 'apiv3-key')
  once(apiV3Key, () => alnum(32))
  const push = JSON.parse(once(join(dir, 'push.json'), () => JSON.stringify(pushSecrets())))
  // WeChat's virtual payment: the OfferId and the AppKey that signs paySig and every /xpay call.
  const xpay = JSON.parse(once(join(dir, 'xpay.json'), () => JSON.stringify({ offerId: '14' + String(randomInt(10_000_000, 100_000_000)), appKey: alnum(32) })))
  const xpayAppKey = join(dir, 'xpay-app-key')
  write(xpayAppKey, xpay.appKey + '\n')

  // One nkey user per identity of the NATS permission matrix (packages/nats/src/permissions.ts): `<identity>.nk`
  // holds the seed, `users.env` the public keys a nats-server config names.
  const natsDir = join(dev, 'nats')
  const users = NATS_IDENTITIES.map((id) => {
    const seed = once(join(natsDir, `${id}.nk`), natsSeed)
    return `NATS_NKEY_${id.toUpperCase()}=${natsPublicKey(seed)}`
  })
  write(join(natsDir, 'users.env'), users.join('\n') + '\n', 0o644)

  const env = {
    TLS_CERT_FILE: cert,
    TLS_KEY_FILE: key,
    DATABASE_CREATE: 'true',
    AUTH_JWT_PRIVATE_KEY_FILES: `${kid}=${jwtKey}`,
    AUTH_JWT_ACTIVE_KID: kid,
    AUTH_DATA_KEY_FILE: authDataKey,
    WECHAT_APPID: app.appid,
    WECHAT_SECRET: app.secret,
    WECHAT_API_BASE_URL: 'http://127.0.0.1:9100',
    WECHATPAY_API_BASE_URL: 'http://127.0.0.1:9100',
    WECHATPAY_MCHID: pay.mchid,
    WECHATPAY_MERCHANT_SERIAL_NO: pay.merchantSerialNo,
    WECHATPAY_MERCHANT_PRIVATE_KEY_FILE: merchant.key,
    WECHATPAY_APIV3_KEY_FILE: apiV3Key,
    WECHATPAY_PUBLIC_KEYS: `${pay.wechatpayPublicKeyId}=${platform.pub}`,
    WECHATPAY_NOTIFY_URL: 'https://localhost:8443/v1/payments/wechat/notify',
    // auth owns the message push; the simulator pushes to the gateway with the same secrets, in safe mode.
    WECHAT_PUSH_TOKEN: push.token,
    WECHAT_PUSH_ENCODING_AES_KEY: push.encodingAesKey,
    WECHAT_PUSH_MODE: 'safe',
    SIM_PUSH_URL: 'https://localhost:8443/v1/wechat/push',
    SIM_PUSH_TOKEN: push.token,
    SIM_PUSH_ENCODING_AES_KEY: push.encodingAesKey,
    SIM_PUSH_MODE: 'safe',
    // payment signs virtual-goods orders (wx.requestVirtualPayment) and /xpay calls; the simulator checks them.
    XPAY_OFFER_ID: xpay.offerId,
    XPAY_APP_KEY_FILE: xpayAppKey,
    SIM_XPAY_OFFER_ID: xpay.offerId,
    SIM_XPAY_APP_KEY: xpay.appKey,
    // Only the simulator reads these: it verifies the merchant's signatures and signs as WeChat Pay.
    SIM_MERCHANT_PUBLIC_KEY_FILE: merchant.pub,
    SIM_WECHATPAY_PRIVATE_KEY_FILE: platform.key,
    SIM_WECHATPAY_PUBLIC_KEY_ID: pay.wechatpayPublicKeyId,
    // The simulator delivers pay notifications to the gateway's self-signed HTTPS listener.
    SIM_NOTIFY_CA_FILE: cert,
    // One developer is every client of this stack, from one address: the demo alone makes a dozen sign-in calls
    // (the buyer, the admin and a staff member with TOTP), so the per-IP sign-in limit (10 a minute in production)
    // is raised enough to run it back to back.
    RATE_LIMIT_LOGIN_MAX: '60'
  }
  write(join(dev, 'dev.env'), Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n') + '\n')
  return env
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await writeLocalDevSecrets()
