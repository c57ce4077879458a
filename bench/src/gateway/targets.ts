import { fileURLToPath } from 'node:url'
import { connect } from '@nats-io/transport-node'
import { freePort, startServer, type ServerProcess } from '../harness/index.js'

const repo = fileURLToPath(new URL('../../../', import.meta.url))

/** What an authenticated scenario needs: a route, and the services behind it started with a user to be. */
export interface AuthenticatedTarget {
  name: string
  path: string
  /** Starts what serves `path` (beyond the stand-in process, always running) and returns the user id to sign a token for. */
  start: (env: { prefix: string, natsUrl: string, databaseUrl: () => Promise<string>, nodeArgs: string[] }) => Promise<{ userId: string, servers: ServerProcess[] }>
}

/** `GET /v1/bench/me` on the stand-in service: the edge's cost against a service that does no I/O. */
export const STAND_IN_ME: AuthenticatedTarget = {
  name: 'authenticated GET /v1/bench/me (stand-in service)',
  path: '/v1/bench/me',
  start: async () => ({ userId: '6f1c2b9e-3a55-4f0e-9d2c-0c8f5b7a9e11', servers: [] })
}

/** The real `GET /v1/users/me`: the user service process on its own database, the user created through `user.ensure`. */
export const USERS_ME: AuthenticatedTarget = {
  name: 'authenticated GET /v1/users/me (user service)',
  path: '/v1/users/me',
  async start ({ prefix, natsUrl, databaseUrl, nodeArgs }) {
    const port = await freePort()
    const user = await startServer({
      name: 'user service',
      script: 'src/server.ts',
      cwd: `${repo}services/user`,
      nodeArgs,
      env: { PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: await databaseUrl(), NATS_URL: natsUrl, NATS_SUBJECT_PREFIX: prefix, LOG_LEVEL: 'info' },
      waitPorts: [port]
    })
    const nc = await connect({ servers: natsUrl })
    try {
      for (let i = 0; ; i++) {
        const msg = await nc.request(`${prefix}user.ensure`, JSON.stringify({ appid: 'wx0123456789abcdef', openid: 'bench-openid' }), { timeout: 5000 }).catch((err: unknown) => err as Error)
        if (!(msg instanceof Error) && (msg.headers?.get('Nats-Service-Error-Code') ?? '') === '') {
          return { userId: (msg.json() as { user: { id: string } }).user.id, servers: [user] }
        }
        if (i >= 50) throw new Error(`user.ensure failed: ${msg instanceof Error ? msg.message : msg.string()}\n${user.tail()}`)
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    } finally {
      await nc.close()
    }
  }
}

/** The authenticated route the gateway benchmark measures. */
export const AUTHENTICATED: AuthenticatedTarget = USERS_ME
