import { collectDefaultMetrics, Counter, Gauge, Histogram, register, type Registry } from 'prom-client'

/**
 * The process's Prometheus instruments. One registry per process (prom-client's default), scraped at
 * `/metrics` on the admin port. Label values are bounded: route patterns and subjects, never raw URLs.
 */
export const metricsRegistry: Registry = register

let defaultsStarted = false
/** Event-loop lag, heap, GC, handles: prom-client's Node.js metrics, started once per process. */
export function startDefaultMetrics (service: string): void {
  if (defaultsStarted) return
  defaultsStarted = true
  metricsRegistry.setDefaultLabels({ service })
  collectDefaultMetrics({ register: metricsRegistry, eventLoopMonitoringPrecision: 10 })
}

const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

function once<T> (name: string, make: () => T): T {
  return (metricsRegistry.getSingleMetric(name) as T | undefined) ?? make()
}

export const httpRequests = once('http_requests_total', () => new Counter({
  name: 'http_requests_total', help: 'HTTP requests by route pattern and status', labelNames: ['method', 'route', 'status'] as const
}))
export const httpDuration = once('http_request_duration_seconds', () => new Histogram({
  name: 'http_request_duration_seconds', help: 'HTTP request latency', labelNames: ['method', 'route', 'status'] as const, buckets
}))
export const natsHandled = once('nats_requests_handled_total', () => new Counter({
  name: 'nats_requests_handled_total', help: 'NATS requests served by this process, by subject and status', labelNames: ['subject', 'status'] as const
}))
export const natsHandleDuration = once('nats_request_handle_duration_seconds', () => new Histogram({
  name: 'nats_request_handle_duration_seconds', help: 'Time to serve a NATS request', labelNames: ['subject', 'status'] as const, buckets
}))
export const natsCalls = once('nats_client_requests_total', () => new Counter({
  name: 'nats_client_requests_total', help: 'NATS requests sent to other services, by subject and outcome', labelNames: ['subject', 'outcome'] as const
}))
export const natsCallDuration = once('nats_client_request_duration_seconds', () => new Histogram({
  name: 'nats_client_request_duration_seconds', help: 'Round trip of a NATS request to another service', labelNames: ['subject', 'outcome'] as const, buckets
}))

/** A gauge read at scrape time, e.g. pool sizes or connection state. */
export function observedGauge (name: string, help: string, labelNames: string[], collect: (g: Gauge) => void): Gauge {
  const existing = metricsRegistry.getSingleMetric(name) as Gauge | undefined
  if (existing !== undefined) metricsRegistry.removeSingleMetric(name)
  return new Gauge({ name, help, labelNames, collect () { collect(this) } })
}

/** A business counter (logins by result, orders by state, ...), created once per process. */
export function businessCounter<L extends string> (name: string, help: string, labelNames: readonly L[]): Counter<L> {
  return once(name, () => new Counter({ name, help, labelNames }))
}
