import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export interface LoadOptions {
  url: string
  connections: number
  durationS: number
  method?: string
  headers?: Record<string, string>
  body?: string
  /** Requests in flight per connection (HTTP pipelining); 1 is what a browser or wx.request does. */
  pipelining?: number
  /** Stop after this many requests (whichever of it and the duration comes first). */
  amount?: number
  /** Replace every `[<id>]` in the request (e.g. an Idempotency-Key header) with a new unique id per request. */
  idReplacement?: boolean
  /** A file with one request body per line, each sent once (single-use login codes); the run ends when they do. */
  bodiesFile?: string
}

export interface LoadResult {
  requests: number
  /** Mean requests per second over the run. */
  rps: number
  p50: number
  p90: number
  p99: number
  max: number
  /** Connection errors and timeouts. */
  errors: number
  /** Responses outside 2xx. */
  non2xx: number
  statusCodes: Record<string, number>
  /** CPU seconds the load generator itself used. */
  loadgenCpuS?: number
}

const worker = fileURLToPath(new URL('./load-worker.ts', import.meta.url))

/** Runs autocannon in a process of its own against `url` and returns its summary. */
export async function runLoad (o: LoadOptions): Promise<LoadResult> {
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
