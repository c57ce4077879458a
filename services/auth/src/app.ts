import type { FastifyInstance } from 'fastify'
import { fileURLToPath } from 'node:url'
import { packageInfo } from '@wxmp/core'
import { serviceBase } from '@wxmp/service'
import type { Config } from './config.js'

export const SERVICE = { name: 'auth', version: packageInfo(import.meta.url).version }
const migrationsDir = fileURLToPath(new URL('../src/db/migrations', import.meta.url))

/** The auth service: its business API is served over NATS; HTTP is only the internal admin port. */
export default async function app (fastify: FastifyInstance, opts: { config: Config }): Promise<void> {
  await fastify.register(serviceBase, { service: SERVICE, config: opts.config, migrationsDir, useRedis: true })
}
