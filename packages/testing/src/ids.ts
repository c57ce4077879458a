import { randomBytes } from 'node:crypto'
import net from 'node:net'

/** A short random tag for names that must not collide between parallel test files. */
export const uniqueTag = (): string => randomBytes(5).toString('hex')

/** A NATS subject prefix of its own for one test run, e.g. `t3f9a0c1b2d.`. */
export const natsPrefix = (): string => `t${uniqueTag()}.`

/** A Redis key prefix of its own for one test run. */
export const redisPrefix = (): string => `test:${uniqueTag()}:`

/** A TCP port nobody listens on right now. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

export async function waitForPort (port: number, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1')
      s.once('connect', () => { s.destroy(); resolve(true) })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`nothing listened on port ${port} within ${timeoutMs} ms`)
}
