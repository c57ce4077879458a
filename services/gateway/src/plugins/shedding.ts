import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import underPressure from '@fastify/under-pressure'
import type { Config } from '../config.js'
import { overloaded } from '../errors.js'

const PROBES = new Set(['/healthz', '/readyz'])

/**
 * Load shedding: while the event loop lags or the heap is over its bound, new requests get a
 * quick 503 OVERLOADED with Retry-After instead of queueing behind work the process cannot finish.
 * Probes are exempt: a busy replica is alive, and restarting it would only move its load.
 */
export const shedding = fp(async function shedding (app: FastifyInstance, opts: { config: Config }) {
  const { config } = opts
  if (config.PRESSURE_MAX_EVENT_LOOP_DELAY_MS === 0 && config.PRESSURE_MAX_HEAP_USED_BYTES === 0) return
  await app.register(underPressure, {
    maxEventLoopDelay: config.PRESSURE_MAX_EVENT_LOOP_DELAY_MS,
    maxHeapUsedBytes: config.PRESSURE_MAX_HEAP_USED_BYTES,
    sampleInterval: config.PRESSURE_SAMPLE_INTERVAL_MS,
    retryAfter: config.PRESSURE_RETRY_AFTER_S,
    pressureHandler: async (request: FastifyRequest, _reply: unknown, type: string, value: unknown) => {
      if (PROBES.has(request.url.split('?')[0] ?? '')) return
      request.log.warn({ type, value }, 'request shed')
      throw overloaded(config.PRESSURE_RETRY_AFTER_S)
    }
  })
}, { name: 'wxmp-gateway-shedding', fastify: '5.x' })
