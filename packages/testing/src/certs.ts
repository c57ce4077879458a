import { generate } from 'selfsigned'

/** A self-signed certificate for localhost and 127.0.0.1, as PEM strings. */
export async function selfSignedCert (): Promise<{ cert: string, key: string }> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2 as const, value: 'localhost' }, { type: 7 as const, ip: '127.0.0.1' }] }]
  })
  return { cert: pems.cert, key: pems.private }
}
