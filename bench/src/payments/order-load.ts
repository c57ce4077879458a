import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { LoadOptions, LoadResult } from '../harness/index.js'

const worker = fileURLToPath(new URL('./order-load-worker.ts', import.meta.url))

/** runLoad with a fresh id in place of every `[<id>]` of each request, in a load process of its own. */
export async function runUniqueLoad (o: LoadOptions): Promise<LoadResult> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, JSON.stringify(o)], { stdio: ['ignore', 'pipe', 'inherit'], cwd: fileURLToPath(new URL('../..', import.meta.url)) })
    let out = ''
    child.stdout.on('data', (c: Buffer) => { out += String(c) })
    child.on('error', reject)
    child.on('exit', (code) => {
      if (code !== 0) { reject(new Error(`load generator exited with ${code}`)); return }
      try { resolve(JSON.parse(out) as LoadResult) } catch (err) { reject(err) }
    })
  })
}
