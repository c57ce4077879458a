import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { TObject } from '@sinclair/typebox'
import { ROOT } from './k8s.js'

/** The deployables of the application; the simulator is not one of them (dev overlay only). */
export const SERVICES = ['gateway', 'auth', 'user', 'payment'] as const
export type Service = typeof SERVICES[number]

/** Services that own a database, and so a migrations folder and a migration Job. */
export const hasMigrations = (svc: string): boolean => existsSync(join(ROOT, 'services', svc, 'src', 'db', 'migrations'))

/** Services that call WeChat, and only they may reach the internet (443). */
export const CALLS_WECHAT = new Set(['auth', 'payment'])

/**
 * The Secrets the prod overlay references but never contains: the operator creates each (infra/README.md shows
 * how), with at least these keys. Key files whose names carry an id (`jwt-<kid>.pem`, `wechatpay-<PUB_KEY_ID>.pem`)
 * are named by the env settings that point at them, so they are not listed.
 */
export const EXTERNAL_SECRETS: Record<string, string[]> = {
  'gateway-tls': ['tls.crt', 'tls.key'],
  'gateway-env': ['REDIS_URL'],
  'auth-env': ['DATABASE_URL', 'REDIS_URL', 'WECHAT_APPID', 'WECHAT_SECRET', 'AUTH_JWT_PRIVATE_KEY_FILES', 'AUTH_JWT_ACTIVE_KID'],
  'auth-keys': ['data-key'],
  'user-env': ['DATABASE_URL'],
  'payment-env': ['DATABASE_URL', 'REDIS_URL', 'WECHAT_APPID', 'WECHAT_SECRET', 'WECHATPAY_MCHID', 'WECHATPAY_MERCHANT_SERIAL_NO', 'WECHATPAY_PUBLIC_KEYS', 'WECHATPAY_NOTIFY_URL'],
  'payment-keys': ['merchant-key.pem', 'apiv3-key'],
  // NATS: the server's certificate, the cluster's route certificate and the public nkey of every identity; each
  // service's seed and the CA, and the provisioning Job's.
  'nats-tls': ['tls.crt', 'tls.key', 'ca.crt'],
  'nats-cluster-tls': ['tls.crt', 'tls.key', 'ca.crt'],
  'nats-users': ['NATS_NKEY_GATEWAY', 'NATS_NKEY_AUTH', 'NATS_NKEY_USER', 'NATS_NKEY_PAYMENT', 'NATS_NKEY_MONITORING', 'NATS_NKEY_PROVISIONER'],
  'provisioner-nats': ['nkey.seed', 'ca.crt'],
  'gateway-nats': ['nkey.seed', 'ca.crt'],
  'auth-nats': ['nkey.seed', 'ca.crt'],
  'user-nats': ['nkey.seed', 'ca.crt'],
  'payment-nats': ['nkey.seed', 'ca.crt']
}

/** Settings in a service's schema for a dependency it never connects to (user registers no Redis client). */
export const NOT_CONNECTED: Record<string, string[]> = {
  user: ['REDIS_URL']
}

/** A service's config schema, from its source (the same module its server.ts loads). */
export async function configSchema (svc: string): Promise<TObject> {
  const mod = await import(join(ROOT, 'services', svc, 'src', 'config.ts')) as { ConfigSchema: TObject }
  return mod.ConfigSchema
}
