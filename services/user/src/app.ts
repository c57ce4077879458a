import type { FastifyInstance } from 'fastify'
import { fileURLToPath } from 'node:url'
import { packageInfo } from '@wxmp/core'
import { serviceBase } from '@wxmp/service'
import type { Config } from './config.js'
import { Users } from './domain/users.js'
import { userEndpoints } from './handlers/users.js'

export const SERVICE = { name: 'user', version: packageInfo(import.meta.url).version }
const migrationsDir = fileURLToPath(new URL('../src/db/migrations', import.meta.url))

/** The user service: profiles keyed by (appid, openid), served over NATS. */
export default async function app (fastify: FastifyInstance, opts: { config: Config }): Promise<void> {
  await fastify.register(serviceBase, { service: SERVICE, config: opts.config, migrationsDir, useRedis: false, useOutbox: true })
  fastify.natsServe(...userEndpoints(new Users(fastify.pg.pool)))
}
