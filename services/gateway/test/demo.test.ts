import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAdmin } from '@wxmp/auth/cli/create-admin'
import { eventually } from '@wxmp/testing'
import { tlsFiles } from './helpers/stack.js'
import { buildPayStack } from './payments/pay-stack.js'
import { virtualStack } from './payments/virtual-stack.js'

const demo = fileURLToPath(new URL('../../../scripts/demo.mjs', import.meta.url))

function runDemo (args: string[]): Promise<{ code: number | null, out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [demo, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += String(d) })
    child.stderr.on('data', (d: Buffer) => { out += String(d) })
    child.on('exit', (code) => resolve({ code, out }))
  })
}

t.test('npm run demo plays the whole journey against a running stack and exits 0', async (t) => {
  // With WeChat's message push reaching the gateway, as in `npm start`: the virtual order is paid by its deliver push,
  // and the physical order's settlement reaches payment the same way.
  const s = await virtualStack(t)
  const { cert } = await tlsFiles()
  // The admin made on the console, as a deployment would (the demo enrols its TOTP and keeps the secret).
  const adminPassword = `demo-${Date.now()}-pw`
  await createAdmin(s.auth.config, { username: 'demo-admin', password: adminPassword })
  const totpFile = join(mkdtempSync(join(tmpdir(), 'wxmp-demo-')), 'admin-totp')
  const args = ['--gateway', s.url, '--sim', s.sim.url, '--ca', cert, '--admin-password', adminPassword, '--admin-totp-file', totpFile]
  const { code, out } = await runDemo(args)
  t.equal(code, 0, out)
  const steps = Number(/All (\d+) steps answered as expected/.exec(out)?.[1])
  t.ok(steps > 30, `all ${steps} steps answered`)
  t.match(out, /✓ \d+\. Staff: approve the refund request/)
  t.match(out, /✓ \d+\. The order is REFUNDED/)
  t.match(out, /✓ \d+\. The order is SETTLED/)
  t.match(out, /✓ \d+\. The virtual order is PAID and its goods delivered/, 'both rails show')
  t.match(out, /✓ \d+\. The old access token is refused at once/)
  // Every step names its trace id, and secrets are masked.
  const traceIds = [...out.matchAll(/trace_id=([0-9a-f]{32})/g)].map((m) => m[1] as string)
  t.ok(traceIds.length >= steps, 'every step prints its trace id')
  const loginTrace = /Log in with the code .*trace_id=([0-9a-f]{32})/.exec(out)?.[1] as string
  t.ok(await eventually(() => s.auth.logs.lines.some((l) => l.trace_id === loginTrace), Boolean), 'the login step\'s trace id is in the auth service\'s logs')
  t.notMatch(out, /"accessToken":"eyJ[A-Za-z0-9_-]{20,}/, 'tokens are masked')
  t.notMatch(out, /"refreshToken":"rt_[A-Za-z0-9_-]{20,}/)
  t.notMatch(out, new RegExp(adminPassword), 'passwords are masked')
  t.notMatch(out, /"secret":"[A-Z2-7]{16,}"/, 'TOTP secrets are masked')

  // The next run signs the admin in with the TOTP kept from the first (the demo on a developer's machine, twice).
  const second = await runDemo(args)
  t.equal(second.code, 0, second.out)
  t.notMatch(second.out, /Admin: enrol an authenticator/)
})

t.test('the demo stops with a non-zero exit at the first wrong answer', async (t) => {
  const s = await buildPayStack(t)
  const { cert } = await tlsFiles()
  // WeChat refuses every login: step 3 gets a 401 envelope instead of tokens.
  await s.phone('/sim/faults', { endpoint: 'jscode2session', errcode: 40029, times: 100 })
  const { code, out } = await runDemo(['--gateway', s.url, '--sim', s.sim.url, '--ca', cert])
  t.equal(code, 1)
  t.match(out, /✗ 3\. Log in with the code/)
  t.match(out, /AUTH_CODE_INVALID/)
  t.notMatch(out, /✓ 4\./, 'nothing runs after the failure')
})
