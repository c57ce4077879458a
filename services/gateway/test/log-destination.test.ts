import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, openSync, closeSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import type { Teardown } from '@wxmp/testing'
import { BatchedDestination } from '@wxmp/core'

const until = async (check: () => boolean, deadlineMs: number): Promise<boolean> => {
  const end = Date.now() + deadlineMs
  while (!check()) {
    if (Date.now() > end) return false
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return true
}

function fileLogger (t: Teardown): { log: pino.Logger, dest: BatchedDestination, text: () => string } {
  const path = join(mkdtempSync(join(tmpdir(), 'wxmp-log-')), 'out.log')
  const fd = openSync(path, 'a')
  const dest = new BatchedDestination({ fd, minLength: 8192, maxDelayMs: 250 })
  t.teardown(() => { dest.close(); closeSync(fd) })
  return { log: pino({}, dest), dest, text: () => readFileSync(path, 'utf8') }
}

t.test('a lone line is written within a second although its batch never fills (gateway lines waited for 8 KiB)', async (t) => {
  const { log, text } = fileLogger(t)
  log.info('lonely line')
  t.ok(await until(() => text().includes('lonely line'), 1000), 'written without more traffic')
})

t.test('many lines are all written, in order', async (t) => {
  const { log, text } = fileLogger(t)
  for (let i = 0; i < 500; i++) log.info({ i }, 'line')
  t.ok(await until(() => text().split('\n').length > 500, 1000))
  const seq = text().trim().split('\n').map((l) => JSON.parse(l).i)
  t.same(seq, Array.from({ length: 500 }, (_, i) => i))
})

t.test('an error line is written with the lines before it by the time the call returns', async (t) => {
  const { log, text } = fileLogger(t)
  log.info('context')
  log.error('it broke')
  t.match(text(), /context[\s\S]*it broke/)
})

t.test('a process killed right after logging an error has written it and what came before', async (t) => {
  const fixture = fileURLToPath(new URL('./fixtures/log-then-die.ts', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  const signal = await new Promise((resolve) => child.once('close', (_code, sig) => resolve(sig)))
  t.equal(signal, 'SIGKILL')
  t.match(out, /the line that explains the crash[\s\S]*fatal error, shutting down/)
})
