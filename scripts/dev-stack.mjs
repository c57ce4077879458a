// Runs the built stack in one terminal: each process's lines prefixed with its name, Ctrl-C stops all.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import readline from 'node:readline'

/** Start order: what others call first; the gateway last, once the services answer. */
export const STACK = [
  { name: 'wechat-sim', color: 35 },
  { name: 'auth', color: 36 },
  { name: 'user', color: 32 },
  { name: 'payment', color: 33 },
  { name: 'gateway', color: 34 }
]

export async function runStack (root) {
  const envFile = join(root, '.dev', 'dev.env')
  const children = new Map()
  let stopping = false
  const width = Math.max(...STACK.map((s) => s.name.length))
  const tty = process.stdout.isTTY

  const stopAll = (signal) => {
    if (stopping) return
    stopping = true
    for (const child of children.values()) child.kill(signal)
  }

  const exited = STACK.filter((s) => existsSync(join(root, 'services', s.name, 'dist', 'server.js'))).map((s) => new Promise((resolve) => {
    const child = spawn(process.execPath, [`--env-file=${envFile}`, join('services', s.name, 'dist', 'server.js')], {
      cwd: root,
      env: { ...process.env, LOG_PRETTY: tty ? 'true' : 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // A group of its own: Ctrl-C reaches this script once, which then stops each service exactly once.
      detached: true
    })
    children.set(s.name, child)
    const label = tty ? `\x1b[${s.color}m${s.name.padEnd(width)}\x1b[0m |` : `${s.name.padEnd(width)} |`
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => { process.stdout.write(`${label} ${line}\n`) })
    }
    child.on('exit', (code, signal) => {
      children.delete(s.name)
      if (!stopping) {
        process.stdout.write(`${label} exited (${signal ?? code}); stopping the stack\n`)
        stopAll('SIGTERM')
      }
      resolve(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1))
    })
  }))

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => stopAll('SIGTERM'))
  console.log('wxmp: gateway https://localhost:8443 (http://localhost:8080 redirects), WeChat simulator http://localhost:9100; Ctrl-C stops everything')
  const codes = await Promise.all(exited)
  return stopping && codes.every((c) => c === 0) ? 0 : Math.max(...codes, 1)
}
