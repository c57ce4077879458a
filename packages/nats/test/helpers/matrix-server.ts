import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { errors, type NatsConnection } from '@nats-io/transport-node'
import { createLogger } from '@wxmp/core'
import { natsPrefix, privateNats, type PrivateServer, type Teardown } from '@wxmp/testing'
import { connectNats, createIdentityUsers, inboxPrefix, renderServerConfig, type NatsIdentity } from '../../src/index.js'

export interface MatrixServer {
  server: PrivateServer
  prefix: string
  /** A connection as `identity`, made the way services make theirs (seed file, inbox prefix). */
  as: (identity: NatsIdentity) => Promise<NatsConnection>
  /** The file holding `identity`'s nkey seed. */
  seedFile: (identity: NatsIdentity) => string
}

/** A private nats-server running the config rendered from the matrix, with fresh nkeys for every identity. */
export async function matrixServer (t: Teardown): Promise<MatrixServer> {
  const prefix = natsPrefix()
  const users = createIdentityUsers()
  const dir = mkdtempSync(join(tmpdir(), 'wxmp-nkeys-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const seedFile = (identity: NatsIdentity): string => join(dir, `${identity}.nk`)
  for (const [id, u] of Object.entries(users)) writeFileSync(seedFile(id as NatsIdentity), u.seed + '\n', { mode: 0o600 })
  const nkeys = Object.fromEntries(Object.entries(users).map(([id, u]) => [id, u.publicKey])) as Record<NatsIdentity, string>
  const server = await privateNats(t, {
    config: (port, storeDir) => renderServerConfig({ prefix, nkeys, listen: `127.0.0.1:${port}`, storeDir })
  })
  const log = createLogger({ service: 'nats-matrix', level: 'silent' })
  return {
    server,
    prefix,
    seedFile,
    async as (identity) {
      const { nc } = await connectNats({ servers: server.url, name: identity, log, nkeySeedFile: seedFile(identity), inboxPrefix: inboxPrefix(identity, prefix) })
      t.teardown(async () => { if (!nc.isClosed()) await nc.close() })
      return nc
    }
  }
}

/** The permission violation behind a failed call, if that is what failed it. */
export function permissionViolation (err: unknown): InstanceType<typeof errors.PermissionViolationError> | undefined {
  if (err instanceof errors.PermissionViolationError) return err
  const cause = (err as { cause?: unknown } | undefined)?.cause
  return cause instanceof errors.PermissionViolationError ? cause : undefined
}

/** Resolves with how `promise` failed: 'refused' for a permission violation, 'ok' when it succeeded. */
export async function outcome (promise: Promise<unknown>): Promise<'ok' | 'refused' | string> {
  try {
    await promise
    return 'ok'
  } catch (err) {
    return permissionViolation(err) !== undefined ? 'refused' : `failed: ${(err as Error).message}`
  }
}

/** Whether the server refuses `nc` a subscription to `subject` (the client closes it with the violation). */
export async function subscribeOutcome (nc: NatsConnection, subject: string): Promise<'ok' | 'refused'> {
  const sub = nc.subscribe(subject)
  // A flush round trip: the server answers a refused SUB with -ERR before the PONG.
  await nc.flush()
  const closed = await Promise.race([sub.closed, nc.flush().then(() => 'open' as const)])
  if (closed === 'open') { sub.unsubscribe(); return 'ok' }
  return permissionViolation(closed) !== undefined ? 'refused' : 'ok'
}

/** Polls `check` until it holds or `ms` pass. */
export async function until (check: () => boolean | Promise<boolean>, ms = 10000): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return await check()
}
