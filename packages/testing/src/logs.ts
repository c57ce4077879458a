import { Writable } from 'node:stream'

/** A stream to hand a logger in tests: keeps every JSON line so a test can read what was logged. */
export class LogCollector extends Writable {
  readonly lines: Array<Record<string, unknown>> = []
  readonly raw: string[] = []
  private buffer = ''
  override _write (chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.buffer += chunk.toString('utf8')
    let i: number
    while ((i = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, i)
      this.buffer = this.buffer.slice(i + 1)
      if (line === '') continue
      this.raw.push(line)
      try { this.lines.push(JSON.parse(line) as Record<string, unknown>) } catch { this.lines.push({ unparsed: line }) }
    }
    cb()
  }
}
