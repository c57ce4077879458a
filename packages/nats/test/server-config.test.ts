import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NATS_SERVER_BIN, selfSignedCert } from '@wxmp/testing'
import { NATS_IDENTITIES, createIdentityUsers, nkeyPublicKey, renderServerConfig, type NatsIdentity } from '../src/index.js'

/** nats-server's own verdict on a config file (`-t` parses and checks it, then exits). */
function check (conf: string, env: Record<string, string> = {}): { ok: boolean, output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wxmp-conf-'))
  try {
    const file = join(dir, 'nats-server.conf')
    writeFileSync(file, conf.replaceAll('@DIR@', dir))
    const output = execFileSync(NATS_SERVER_BIN, ['-c', file, '-t'], { env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    return { ok: true, output }
  } catch (err) {
    return { ok: false, output: String((err as { stderr?: string }).stderr ?? err) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

t.test('the server accepts every shape the renderer produces', async (t) => {
  const users = createIdentityUsers()
  const keys = Object.fromEntries(NATS_IDENTITIES.map((id) => [id, users[id].publicKey])) as Record<NatsIdentity, string>
  const plain = renderServerConfig({ prefix: 't1.', nkeys: keys, listen: '127.0.0.1:4999', storeDir: '@DIR@/js' })
  t.ok(check(plain).ok, 'keys inline, a test prefix, JetStream')

  const { cert, key } = await selfSignedCert()
  const dir = mkdtempSync(join(tmpdir(), 'wxmp-tls-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  writeFileSync(join(dir, 'tls.crt'), cert)
  writeFileSync(join(dir, 'tls.key'), key)
  const variables = Object.fromEntries(NATS_IDENTITIES.map((id) => [id, `$NKEY_${id.toUpperCase()}`])) as Record<NatsIdentity, string>
  const full = renderServerConfig({
    prefix: '',
    nkeys: variables,
    serverName: '$POD_NAME',
    listen: '0.0.0.0:4999',
    httpPort: 8999,
    storeDir: '@DIR@/js',
    tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), caFile: join(dir, 'tls.crt') },
    cluster: { name: 'wxmp', listen: '0.0.0.0:6222', routes: ['nats://nats-0.nats:6222', 'nats://nats-1.nats:6222'] }
  })
  const env = { POD_NAME: 'nats-0', ...Object.fromEntries(NATS_IDENTITIES.map((id) => [`NKEY_${id.toUpperCase()}`, keys[id]])) }
  const verdict = check(full, env)
  t.ok(verdict.ok, `keys from the environment, TLS, cluster, monitoring: ${verdict.output}`)
  t.notOk(check(full, { POD_NAME: 'nats-0' }).ok, 'a missing key variable stops the server instead of dropping the user')
  t.equal(nkeyPublicKey(users.gateway.seed + '\n'), users.gateway.publicKey, 'a seed file\'s public key, newline or not')
})
