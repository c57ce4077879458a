// Generates the development certificates, keys and env file in .dev/ once; later starts reuse them.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generate } from 'selfsigned'

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

const env = {
  ...(await tls()),
  DATABASE_CREATE: 'true'
}
write(join(dev, 'dev.env'), Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n') + '\n')
