import { NATS_IDENTITIES, permissionsFor, type NatsIdentity, type NatsPermissions } from './permissions.js'

export interface ServerConfigOptions {
  /**
   * Deployment prefix of every subject, stream and bucket; empty in production. `*.` admits any one-token
   * prefix (the test server, where each test picks its own).
   */
  prefix: string
  /**
   * Public nkey (`U...`) of each identity, or a `$NAME` the server resolves from its environment when it
   * loads the file (Kubernetes passes them from a Secret, so one rendered file serves every cluster).
   */
  nkeys: Record<NatsIdentity, string>
  /**
   * Users beside the matrix's identities, with permissions of their own: the test server's operator,
   * through which tests inspect streams no service reads. Never in a deployment.
   */
  extraUsers?: Array<{ nkey: string, permissions: NatsPermissions }>
  /** Client listener, `host:port`. */
  listen: string
  /** Directory JetStream stores streams in. */
  storeDir: string
  /** JetStream file storage limit, e.g. `10G`; the server's default when omitted. */
  maxFileStore?: string
  /** HTTP monitoring port (`/healthz`, `/varz`), for probes; off when omitted. */
  httpPort?: number
  /** Server TLS; clients verify the certificate against the CA. */
  tls?: { certFile: string, keyFile: string, caFile?: string }
  /** Server name, or a `$NAME` from the environment (each clustered JetStream server needs its own). */
  serverName?: string
  /** A cluster of servers replicating JetStream; its port should be reachable by the other servers only. */
  cluster?: {
    name: string
    listen: string
    routes: string[]
    /** Route TLS, both ways: each server presents its certificate and verifies the peer's against the CA. */
    tls?: { certFile: string, keyFile: string, caFile: string }
    /**
     * Keep the servers' addresses out of what clients are told (`no_advertise`): clients stay on the URLs they
     * were given (a Service name their TLS verification matches) instead of pod addresses no certificate names.
     */
    noAdvertise?: boolean
  }
}

/**
 * Subjects a wildcard prefix renders into a token (`$JS.API.STREAM.INFO.*_EVENTS`) widened to the whole token,
 * the narrowest subject the server accepts: stream names take the prefix inside their token. Who calls, answers
 * and publishes what, and which JetStream operations each identity has, stay as the matrix says.
 */
function wholeTokens (subjects: string[]): string[] {
  return [...new Set(subjects.map((s) => s.split('.').map((t) => t.includes('*') ? '*' : t).join('.')))].sort()
}

function rendered (p: NatsPermissions): NatsPermissions {
  return { ...p, publish: { allow: wholeTokens(p.publish.allow) }, subscribe: { allow: wholeTokens(p.subscribe.allow) } }
}

/** A value in nats-server's config language: `$NAME` stays a variable reference, strings are JSON-quoted. */
function value (v: unknown, indent: string): string {
  if (typeof v === 'string') return /^\$[A-Z][A-Z0-9_]*$/.test(v) ? v : JSON.stringify(v)
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]'
    return `[\n${v.map((x) => `${indent}  ${value(x, indent + '  ')}`).join('\n')}\n${indent}]`
  }
  if (typeof v === 'object' && v !== null) return block(v as Record<string, unknown>, indent)
  throw new Error(`cannot render ${String(v)}`)
}

function block (o: Record<string, unknown>, indent: string): string {
  const lines = Object.entries(o).filter(([, v]) => v !== undefined).map(([k, v]) => `${indent}  ${k}: ${value(v, indent + '  ')}`)
  return `{\n${lines.join('\n')}\n${indent}}`
}

/**
 * Renders a nats-server config: JetStream on, one nkey user per identity with its permissions from the
 * matrix, and no anonymous access (with users defined, a client without a valid nkey is refused).
 */
export function renderServerConfig (opts: ServerConfigOptions): string {
  const top: Record<string, unknown> = {
    server_name: opts.serverName,
    listen: opts.listen,
    http_port: opts.httpPort,
    jetstream: { store_dir: opts.storeDir, max_file_store: opts.maxFileStore },
    cluster: opts.cluster === undefined
      ? undefined
      : {
          name: opts.cluster.name,
          listen: opts.cluster.listen,
          no_advertise: opts.cluster.noAdvertise,
          routes: opts.cluster.routes,
          tls: opts.cluster.tls === undefined
            ? undefined
            : { cert_file: opts.cluster.tls.certFile, key_file: opts.cluster.tls.keyFile, ca_file: opts.cluster.tls.caFile, verify: true, timeout: 2 }
        },
    tls: opts.tls === undefined
      ? undefined
      : { cert_file: opts.tls.certFile, key_file: opts.tls.keyFile, ca_file: opts.tls.caFile, timeout: 2 },
    authorization: {
      users: [
        ...NATS_IDENTITIES.map((id) => ({ nkey: opts.nkeys[id], permissions: rendered(permissionsFor(id, opts.prefix)) })),
        ...(opts.extraUsers ?? []).map((u) => ({ nkey: u.nkey, permissions: rendered(u.permissions) }))
      ]
    }
  }
  const header = '# Rendered from packages/nats/src/permissions.ts by renderServerConfig; do not edit by hand.\n'
  return header + Object.entries(top).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}: ${value(v, '')}`).join('\n') + '\n'
}
