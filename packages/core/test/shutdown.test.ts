import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const fixture = fileURLToPath(new URL('./fixtures/stalled-log-server.ts', import.meta.url))

t.test('a process whose log pipe nobody reads any more still exits when its shutdown grace ends', async (t) => {
  const graceMs = 2000
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@wxmp/source', fixture], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GRACE_MS: String(graceMs) }
  })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  t.teardown(() => { child.kill('SIGKILL') })
  await new Promise<void>((resolve) => {
    let err = ''
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); if (err.includes('listening')) resolve() })
  })
  // The reader stops (a log collector stuck or gone without closing): stdout fills and every write would block.
  child.stdout.pause()
  await new Promise((resolve) => setTimeout(resolve, 500))
  child.kill('SIGTERM')
  // Generous: the point is that it exits at all; before, it stayed blocked in its final log flush for ever.
  const outcome = await Promise.race([exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), graceMs + 15_000))])
  t.not(outcome, 'running', 'the process exited')
})
