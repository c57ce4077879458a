import { readFileSync } from 'node:fs'
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node'
import type { Log } from '@wxmp/core'

export interface NatsSettings {
  /** Comma-separated server URLs. */
  servers: string
  /** Connection name shown by the server (`nats server report connections`), one per process. */
  name: string
  log: Log
  /** File holding this process's nkey seed (`SU...`); without it the connection is anonymous. */
  nkeySeedFile?: string
  /** Prefix of this process's reply inboxes; the permission matrix lets only its identity subscribe there. */
  inboxPrefix?: string
  /** CA that signed the server's certificate; when set, the connection requires TLS and verifies the server. */
  tlsCaFile?: string
}

/** A connection plus whether it is currently connected, tracked from the client's status stream. */
export interface TrackedConnection {
  nc: NatsConnection
  isConnected: () => boolean
}

/** Connects with unlimited reconnects, logging each disconnect and reconnect. */
export async function connectNats (s: NatsSettings): Promise<TrackedConnection> {
  const nc = await connect({
    servers: s.servers.split(',').map((u) => u.trim()),
    name: s.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: false,
    // The client would otherwise build two Error objects per request to keep the caller's stack for a
    // timeout that rarely comes; NatsClient maps failures to its own errors anyway.
    noAsyncTraces: true,
    ...(s.nkeySeedFile === undefined ? {} : { authenticator: nkeyAuthenticator(() => new TextEncoder().encode(readFileSync(s.nkeySeedFile as string, 'utf8').trim())) }),
    ...(s.inboxPrefix === undefined ? {} : { inboxPrefix: s.inboxPrefix }),
    ...(s.tlsCaFile === undefined ? {} : { tls: { caFile: s.tlsCaFile } })
  })
  let connected = true
  void (async () => {
    for await (const st of nc.status()) {
      switch (st.type) {
        case 'disconnect': connected = false; s.log.warn({ server: st.server }, 'nats disconnected'); break
        case 'reconnect': connected = true; s.log.info({ server: st.server }, 'nats reconnected'); break
        case 'close': connected = false; break
        default: break
      }
    }
  })()
  return { nc, isConnected: () => connected && !nc.isClosed() && !nc.isDraining() }
}
