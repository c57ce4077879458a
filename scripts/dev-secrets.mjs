// Generates the development certificates, keys and env file in .dev/ once; later starts reuse them.
import { createHash, generateKeyPairSync, randomBytes, randomInt } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generate } from 'selfsigned'
import { createUser, fromSeed } from '@nats-io/nkeys'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const dev = join(root, '.dev')

function write (file, content, mode = 0o600) {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  writeFileSync(file, content, { mode })
}

async function tls () {
  const cert = join(dev, 'tls', 'cert.pem')
  const key = join(dev, 'tls', 'key.pem')
  if (!existsSync(cert) || !existsSync(key)) {
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keySize: 2048,
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 825 * 24 * 3600 * 1000),
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] }
      ]
    })
    write(key, pems.private)
    write(cert, pems.cert, 0o644)
    console.log('dev-secrets: created a self-signed certificate for localhost in .dev/tls/')
  }
  return { TLS_CERT_FILE: cert, TLS_KEY_FILE: key }
}

/** Reads a generated value back, or creates it once. */
function once (file, make, mode = 0o600) {
  if (!existsSync(file)) write(file, make(), mode)
  return readFileSync(file, 'utf8').trim()
}

const alnum = (n) => Array.from({ length: n }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[randomInt(62)]).join('')
const digits = (n) => Array.from({ length: n }, () => String(randomInt(10))).join('')

function rsaPair (dir, name) {
  const key = join(dir, `${name}-key.pem`)
  const pub = join(dir, `${name}-public.pem`)
  if (!existsSync(key) || !existsSync(pub)) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    write(key, privateKey.export({ type: 'pkcs8', format: 'pem' }))
    write(pub, publicKey.export({ type: 'spki', format: 'pem' }), 0o644)
  }
  return { key, pub }
}

function auth () {
  const dir = join(dev, 'auth')
  const jwtKey = join(dir, 'jwt-es256-key.pem')
  once(jwtKey, () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }))
  const kid = 'dev-' + createHash('sha256').update(readFileSync(jwtKey)).digest('hex').slice(0, 12)
  const dataKey = join(dir, 'data-key')
  once(dataKey, () => randomBytes(32).toString('base64'))
  return { AUTH_JWT_PRIVATE_KEY_FILES: `${kid}=${jwtKey}`, AUTH_JWT_ACTIVE_KID: kid, AUTH_DATA_KEY_FILE: dataKey }
}

function wechat () {
  const dir = join(dev, 'wechat')
  const app = JSON.parse(once(join(dir, 'app.json'), () => JSON.stringify({ appid: 'wx' + randomBytes(8).toString('hex'), secret: randomBytes(16).toString('hex') })))
  const pay = JSON.parse(once(join(dir, 'merchant.json'), () => JSON.stringify({
    mchid: '19' + digits(8),
    merchantSerialNo: randomBytes(20).toString('hex').toUpperCase(),
    wechatpayPublicKeyId: 'PUB_KEY_ID_01' + digits(28)
  })))
  const merchant = rsaPair(dir, 'merchant')
  const platform = rsaPair(dir, 'wechatpay')
  const apiV3Key = join(dir, 'apiv3-key')
  once(apiV3Key, () => alnum(32))
  return {
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
    // Only the simulator reads these: it verifies the merchant's signatures and signs as WeChat Pay.
    SIM_MERCHANT_PUBLIC_KEY_FILE: merchant.pub,
    SIM_WECHATPAY_PRIVATE_KEY_FILE: platform.key,
    SIM_WECHATPAY_PUBLIC_KEY_ID: pay.wechatpayPublicKeyId
  }
}

/**
 * One nkey user per identity of the NATS permission matrix (packages/nats/src/permissions.ts): `<identity>.nk` holds
 * the seed, `users.env` the public keys a nats-server config names. Not in dev.env yet: the shared local NATS takes
 * anonymous connections until the local stack runs its own server with the rendered config.
 */
function nats () {
  const dir = join(dev, 'nats')
  const users = ['gateway', 'auth', 'user', 'payment', 'monitoring'].map((id) => {
    const seed = once(join(dir, `${id}.nk`), () => new TextDecoder().decode(createUser().getSeed()) + '\n')
    return `NATS_NKEY_${id.toUpperCase()}=${fromSeed(new TextEncoder().encode(seed)).getPublicKey()}`
  })
  write(join(dir, 'users.env'), users.join('\n') + '\n', 0o644)
}

nats()
const tlsEnv = await tls()
const env = {
  ...tlsEnv,
  DATABASE_CREATE: 'true',
  ...auth(),
  ...wechat(),
  // The simulator delivers pay notifications to the gateway's self-signed HTTPS listener.
  SIM_NOTIFY_CA_FILE: tlsEnv.TLS_CERT_FILE
}
write(join(dev, 'dev.env'), Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n') + '\n')
