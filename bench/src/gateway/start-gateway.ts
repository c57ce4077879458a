import { fileURLToPath } from 'node:url'
import { startServer, type ServerProcess } from '../harness/index.js'

const benchDir = fileURLToPath(new URL('../..', import.meta.url))

export interface BenchGatewayOptions {
  /** TLS_CERT_FILE and TLS_KEY_FILE. */
  tls: Record<string, string>
  port: number
  natsUrl: string
  prefix: string
  nodeArgs?: string[]
}

/** The real gateway app with the bench routes (gateway-server.ts), as every benchmark measures it. */
export async function startBenchGateway (o: BenchGatewayOptions): Promise<ServerProcess> {
  return await startServer({
    name: 'gateway',
    script: 'src/gateway/gateway-server.ts',
    cwd: benchDir,
    nodeArgs: o.nodeArgs ?? [],
    env: {
      ...o.tls,
      HTTPS_PORT: String(o.port),
      NATS_URL: o.natsUrl,
      NATS_SUBJECT_PREFIX: o.prefix,
      REDIS_KEY_PREFIX: `bench:${o.prefix}gw:`,
      LOG_LEVEL: 'info',
      // One client address (and one user) for every connection: limits go out of reach, every request is still counted in Redis.
      RATE_LIMIT_MAX_SCALE: '1000000'
    },
    waitPorts: [o.port]
  })
}
