import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import net from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

/** Port of the test suite's nats-server (scripts/test-nats.mjs): authorization on, beside the shared 4222. */
export const TEST_NATS_PORT = Number(process.env.WXMP_TEST_NATS_PORT ?? 4224)
/** Its URL. */
export const TEST_NATS_URL = `nats://127.0.0.1:${TEST_NATS_PORT}`
/** Folder of its config and of each identity's nkey seed (`<identity>.nk`), generated once, gitignored. */
export const TEST_NATS_DIR = join(root, '.dev', 'test-nats')
/** The config rendered from the permission matrix; private servers of tests that restart NATS load it too. */
export const TEST_NATS_CONFIG = join(TEST_NATS_DIR, 'nats-server.conf')

/** The file holding the test nkey seed of an identity of the matrix (`gateway`, `auth`, `user`, `payment`, `monitoring`). */
export const testNatsSeedFile = (identity: string): string => join(TEST_NATS_DIR, `${identity}.nk`)

async function listening (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

let ensured: Promise<void> | undefined

/**
 * Makes sure the test nats-server runs (`npm test` starts it first; a single test file run starts it here) and
 * its config and seeds exist.
 */
export async function ensureTestNats (): Promise<void> {
  ensured ??= (async () => {
    if (existsSync(TEST_NATS_CONFIG) && await listening(TEST_NATS_PORT)) return
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'test-nats.mjs'), 'start'], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`the test nats-server did not start: ${r.stderr}`)
  })()
  await ensured
}

/** The NATS settings of a process running as `identity` against the test server: its URL and its seed file. */
export async function testNatsEnv (identity: string): Promise<{ NATS_URL: string, NATS_NKEY_SEED_FILE: string }> {
  await ensureTestNats()
  return { NATS_URL: TEST_NATS_URL, NATS_NKEY_SEED_FILE: testNatsSeedFile(identity) }
}
