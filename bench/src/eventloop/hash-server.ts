import Fastify from 'fastify'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { hash, verify, verifySync } from '@node-rs/bcrypt'

// A password check at bcrypt cost 12, done the way the auth service does it (async: the libuv thread pool)
// and the tempting way (sync: on the event loop). The server measures its own event-loop delay, which is
// how long any other request (a health probe, a profile read) would wait behind the hashing.
// Cost 12 as in production; the smoke test lowers it so a check finishes inside its short window.
const stored = await hash('correct horse battery staple', Number(process.env.BCRYPT_COST ?? 12))
const delay = monitorEventLoopDelay({ resolution: 5 })
delay.enable()
const ms = (ns: number): number => Math.round(ns / 1e4) / 100

const app = Fastify({ logger: false })
app.post('/verify-async', async () => ({ ok: await verify('wrong password guess', stored) }))
app.post('/verify-sync', async () => ({ ok: verifySync('wrong password guess', stored) }))
app.post('/loop-delay/reset', async () => { delay.reset(); return { reset: true } })
app.get('/loop-delay', async () => ({ p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) }))
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.on('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
