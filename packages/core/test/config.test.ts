import t from 'tap'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Type } from '@sinclair/typebox'
import { ConfigError, loadConfig, baseConfigProperties } from '../src/config.js'

const Schema = Type.Object({
  ...baseConfigProperties,
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }),
  PORT: Type.Integer({ default: 9000, minimum: 0, maximum: 65535 })
})

t.test('defaults apply and types are coerced', async (t) => {
  const c = loadConfig(Schema, { DATABASE_URL: 'postgres://x@h/db', PORT: '9100', LOG_PRETTY: 'true' })
  t.equal(c.PORT, 9100)
  t.equal(c.LOG_PRETTY, true)
  t.equal(c.NATS_URL, 'nats://127.0.0.1:4222')
  t.equal(c.LOG_LEVEL, 'info')
})

t.test('a missing variable is named', async (t) => {
  const err = t.throws(() => loadConfig(Schema, {})) as ConfigError
  t.type(err, ConfigError)
  t.match(err.message, /DATABASE_URL is required/)
  t.same(err.variables, ['DATABASE_URL'])
})

t.test('a malformed variable is named', async (t) => {
  const err = t.throws(() => loadConfig(Schema, { DATABASE_URL: 'mysql://x', PORT: 'eighty' })) as ConfigError
  t.match(err.message, /DATABASE_URL/)
  t.match(err.message, /PORT/)
  t.notMatch(err.message, /LOG_LEVEL/)
})

t.test('a service with bad config exits 1 with one line naming the variable, no stack trace', async (t) => {
  const server = fileURLToPath(new URL('../../../services/user/src/server.ts', import.meta.url))
  const r = spawnSync(process.execPath, ['--import=tsx', '--conditions=@wxmp/source', server], {
    env: { PATH: process.env.PATH, NATS_URL: 'http://wrong', PORT: '-5' },
    encoding: 'utf8',
    timeout: 30000
  })
  t.equal(r.status, 1)
  const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('(node:') && !l.includes('--trace-warnings'))
  t.equal(lines.length, 1, r.stderr)
  t.match(lines[0], /^user: Invalid configuration: /)
  t.match(lines[0], /NATS_URL/)
  t.match(lines[0], /PORT/)
  t.notMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace')
})
