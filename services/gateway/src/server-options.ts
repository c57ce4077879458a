import { readFileSync } from 'node:fs'
import { BatchedDestination } from '@wxmp/core'
import type { Config } from './config.js'
import { clientErrorHandler, frameworkErrors } from './client-errors.js'

/**
 * Where the gateway's log lines go: stdout through an 8 KiB batch instead of one write(2) per line,
 * which at the edge's request rate is a visible share of the CPU. No line waits more than 250 ms for
 * its batch, errors are written at once and the rest on exit (@wxmp/core's BatchedDestination); pretty output
 * (development) stays unbuffered.
 */
export function logDestination (config: Pick<Config, 'LOG_PRETTY'>): BatchedDestination | undefined {
  if (config.LOG_PRETTY) return undefined
  return new BatchedDestination({ minLength: 8192, maxDelayMs: 250 })
}

/** Addresses and CIDRs of trusted proxies, or false: X-Forwarded-* from anyone else is ignored. */
export function trustProxyOf (value: string): string[] | false {
  const list = value.split(',').map((s) => s.trim()).filter((s) => s !== '')
  return list.length === 0 ? false : list
}

/** Fastify server options of the public listener: TLS 1.2+, optional HTTP/2, trusted proxies, timeouts. */
export function publicServerOptions (config: Config): Record<string, unknown> {
  const tls = { cert: readFileSync(config.TLS_CERT_FILE), key: readFileSync(config.TLS_KEY_FILE), minVersion: 'TLSv1.2' }
  return {
    ...(config.HTTP2 ? { http2: true, https: { ...tls, allowHTTP1: true } } : { https: tls }),
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: trustProxyOf(config.TRUST_PROXY),
    // Longer than the usual 60 s idle timeout of load balancers, so they never reuse a socket we just closed.
    keepAliveTimeout: 65000,
    // Slow clients (slowloris) cannot hold a request open for long.
    requestTimeout: 30000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    clientErrorHandler,
    frameworkErrors
  }
}
