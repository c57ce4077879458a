import { readFileSync } from 'node:fs'
import Fastify from 'fastify'

// The floor: Fastify answering a constant over the same TLS setup, with nothing else in the path.
const app = Fastify({ https: { cert: readFileSync(process.env.TLS_CERT_FILE as string), key: readFileSync(process.env.TLS_KEY_FILE as string), minVersion: 'TLSv1.2' } })
app.get('/hello', async () => ({ hello: 'world' }))
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.on('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
