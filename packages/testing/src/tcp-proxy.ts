import net from 'node:net'
import type { Teardown } from './teardown.js'

/**
 * A TCP proxy in front of a real server. `cut()` drops every connection and refuses new ones, as
 * if the server had gone away; `restore()` lets traffic through again.
 */
export interface TcpProxy {
  port: number
  cut: () => Promise<void>
  restore: () => Promise<void>
}

export async function tcpProxy (t: Teardown, targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>()
  let server: net.Server | undefined
  let port = 0
  const listen = async (): Promise<void> => {
    const srv = net.createServer((client) => {
      const upstream = net.connect(targetPort, targetHost)
      sockets.add(client); sockets.add(upstream)
      const done = (): void => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream) }
      client.on('error', done); upstream.on('error', done)
      client.on('close', done); upstream.on('close', done)
      client.pipe(upstream); upstream.pipe(client)
    })
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject)
      srv.listen(port, '127.0.0.1', () => resolve())
    })
    port = (srv.address() as net.AddressInfo).port
    server = srv
  }
  const cut = async (): Promise<void> => {
    const srv = server
    server = undefined
    for (const s of sockets) s.destroy()
    sockets.clear()
    if (srv !== undefined) await new Promise<void>((resolve) => srv.close(() => resolve()))
  }
  await listen()
  t.teardown(cut)
  return { port, cut, restore: async () => { if (server === undefined) await listen() } }
}
