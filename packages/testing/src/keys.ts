import { generateKeyPair, generateKeyPairSync } from 'node:crypto'
import { promisify } from 'node:util'

/** An RSA-2048 key pair as PEM (PKCS#8 private, SPKI public): a merchant's, WeChat Pay's, or a stranger's. */
export interface RsaKeyPairPem {
  privateKey: string
  publicKey: string
}

const RSA = {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' }
} as const

/** A fresh RSA-2048 key pair; made off the event loop, for fixtures built while other tests run. */
export async function rsaKeyPair (): Promise<RsaKeyPairPem> {
  return await promisify(generateKeyPair)('rsa', RSA)
}

/** A fresh RSA-2048 key pair, made at once: for module-level fixtures and one-off strangers. */
export function rsaKeyPairSync (): RsaKeyPairPem {
  return generateKeyPairSync('rsa', RSA)
}

/** A fresh P-256 private key as PKCS#8 PEM: an ES256 token signing key as auth reads it from a file. */
export function es256PrivateKeyPem (): string {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
}
