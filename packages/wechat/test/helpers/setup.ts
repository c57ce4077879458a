import { Redis } from 'ioredis'
import pino from 'pino'
import { LogCollector, redisPrefix, type Teardown } from '@wxmp/testing'
import type { RunningSimulator } from '@wxmp/wechat-sim/testing'
import { MiniProgramClient, type MiniProgramClientOptions } from '../../src/mini-program/client.js'
import { WechatPayClient, type WechatPayClientOptions } from '../../src/pay/client.js'

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A logger whose lines the test can read. */
export function testLogger (): { log: pino.Logger, logs: LogCollector } {
  const logs = new LogCollector()
  return { log: pino({ level: 'debug' }, logs), logs }
}

/** A Redis connection of its own on the shared server, under `prefix`, closed at teardown. */
export function redisClient (t: Teardown, prefix: string): Redis {
  const redis = new Redis(REDIS_URL, { keyPrefix: prefix, maxRetriesPerRequest: 1 })
  t.teardown(async () => {
    const keys = await redis.keys('*')
    if (keys.length > 0) await redis.del(...keys.map((k) => k.slice(prefix.length)))
    redis.disconnect()
  })
  return redis
}

export function miniProgram (t: Teardown, sim: RunningSimulator, opts: Partial<MiniProgramClientOptions> & { prefix?: string } = {}): { client: MiniProgramClient, logs: LogCollector, redis: Redis } {
  const { log, logs } = testLogger()
  const redis = opts.redis ?? redisClient(t, opts.prefix ?? redisPrefix())
  const client = new MiniProgramClient({ baseUrl: sim.url, appid: sim.keys.appid, secret: sim.keys.secret, redis, log, retryBaseMs: 10, ...opts })
  return { client, logs, redis }
}

export function wechatPay (sim: RunningSimulator, opts: Partial<WechatPayClientOptions> = {}): { client: WechatPayClient, logs: LogCollector } {
  const { log, logs } = testLogger()
  const client = new WechatPayClient({
    baseUrl: sim.url,
    mchid: sim.keys.mchid,
    appid: sim.keys.appid,
    merchantSerialNo: sim.keys.merchantSerialNo,
    merchantPrivateKey: sim.keys.merchantPrivateKeyPem,
    apiV3Key: sim.keys.apiV3Key,
    wechatpayPublicKeys: { [sim.keys.wechatpayPublicKeyId]: sim.keys.wechatpayPublicKeyPem },
    notifyUrl: 'https://merchant.example/v1/payments/wechat/notify',
    log,
    retryBaseMs: 10,
    ...opts
  })
  return { client, logs }
}

/** What a catalogue error looks like to the gateway. */
export function envelope (err: unknown): { code?: string, statusCode?: number, details?: any, headers?: Record<string, string> } {
  const e = err as { code?: string, statusCode?: number, details?: unknown, headers?: Record<string, string> }
  return { code: e.code, statusCode: e.statusCode, details: e.details, headers: e.headers }
}

export async function caught (p: Promise<unknown>): Promise<ReturnType<typeof envelope>> {
  try {
    await p
  } catch (err) {
    return envelope(err)
  }
  throw new Error('expected a rejection')
}

export async function simPost (sim: RunningSimulator, path: string, body: unknown): Promise<any> {
  const res = await fetch(sim.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return await res.json()
}

export async function simStats (sim: RunningSimulator): Promise<any> {
  return await (await fetch(sim.url + '/sim/stats')).json()
}
