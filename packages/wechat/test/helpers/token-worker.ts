// A separate process holding its own clients and Redis connections, for the single-refresher test.
// Reads its job from env, waits for the shared start time, and prints the tokens it got as one JSON line.
import { Redis } from 'ioredis'
import pino from 'pino'
import { MiniProgramClient } from '../../src/mini-program/client.js'

const env = (name: string): string => process.env[name] ?? ''
const clients = Number(env('WORKER_CLIENTS'))
const callers = Number(env('WORKER_CALLERS'))
const redises = Array.from({ length: clients }, () => new Redis(env('WORKER_REDIS_URL'), { keyPrefix: env('WORKER_PREFIX') }))
const log = pino({ level: 'silent' })
const mps = redises.map((redis) => new MiniProgramClient({ baseUrl: env('WORKER_SIM_URL'), appid: env('WORKER_APPID'), secret: env('WORKER_SECRET'), redis, log }))
await Promise.all(redises.map(async (r) => await r.ping()))
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(env('WORKER_START_AT')) - Date.now())))
const tokens = await Promise.all(Array.from({ length: callers }, async (_, i) => await mps[i % clients]!.getAccessToken()))
process.stdout.write(JSON.stringify(tokens) + '\n')
for (const r of redises) r.disconnect()
