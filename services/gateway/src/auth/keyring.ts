import { createPublicKey } from 'node:crypto'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Contracts, JwksResponse } from '@wxmp/contracts'
import type { NatsClient } from '@wxmp/nats'
import type { FastifyBaseLogger } from 'fastify'

const checkJwks = TypeCompiler.Compile(JwksResponse)

export interface KeyringOptions {
  client: NatsClient
  log: FastifyBaseLogger
  /** Periodic refresh, so a key added by rotation is known before the first token signed with it arrives. */
  refreshMs: number
  /** Retry interval until the first successful fetch. */
  retryMs: number
  /** Least time between fetches caused by an unknown kid, so forged kids cannot flood auth. */
  minRefetchMs: number
  timeoutMs: number
}

/** Thrown when a token names a key the auth service does not publish. */
export class UnknownKeyError extends Error {
  constructor (kid: unknown) {
    super(`Unknown signing key ${JSON.stringify(kid)?.slice(0, 80) ?? ''}`)
    this.name = 'UnknownKeyError'
  }
}

/** Thrown while no key has been fetched yet: tokens cannot be judged, which is not the client's fault. */
export class NoKeysError extends Error {
  constructor () {
    super('Signing keys not loaded yet')
    this.name = 'NoKeysError'
  }
}

/**
 * The auth service's public keys by kid, as PEM for the verifier. Fetched over NATS at startup
 * (retrying until auth answers), refreshed periodically and, at a bounded rate, when a token
 * names a kid not seen yet; a key removed from the set stops being accepted at the next fetch.
 */
export class Keyring {
  private keys = new Map<string, string>()
  private loaded = false
  private lastFetch = 0
  private inflight: Promise<boolean> | undefined
  private timer: NodeJS.Timeout | undefined
  private stopped = false

  constructor (private readonly opts: KeyringOptions) {}

  get ready (): boolean { return this.loaded }

  start (): void {
    const tick = async (): Promise<void> => {
      const ok = await this.refresh()
      if (this.stopped) return
      this.timer = setTimeout(() => { void tick() }, ok || this.loaded ? this.opts.refreshMs : this.opts.retryMs)
      this.timer.unref()
    }
    void tick()
  }

  stop (): void {
    this.stopped = true
    clearTimeout(this.timer)
  }

  /** Fetches the key set; concurrent callers share one request. Resolves false on failure, keeping the old keys. */
  async refresh (): Promise<boolean> {
    this.inflight ??= this.fetch().finally(() => { this.inflight = undefined })
    return await this.inflight
  }

  private async fetch (): Promise<boolean> {
    this.lastFetch = Date.now()
    try {
      const { data } = await this.opts.client.request(Contracts.auth.jwks, {}, undefined, { timeoutMs: this.opts.timeoutMs })
      // The reply's type is the contract's; what arrived is checked before any key is trusted.
      if (!checkJwks.Check(data)) throw new Error('auth.jwks reply does not match the JWKS contract')
      const next = new Map<string, string>()
      for (const jwk of data.keys) {
        next.set(jwk.kid, createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString())
      }
      const added = [...next.keys()].filter((k) => !this.keys.has(k))
      const removed = [...this.keys.keys()].filter((k) => !next.has(k))
      this.keys = next
      if (!this.loaded || added.length > 0 || removed.length > 0) this.opts.log.info({ kids: [...next.keys()], added, removed }, 'signing keys loaded')
      this.loaded = true
      return true
    } catch (err) {
      const level = this.loaded ? 'warn' : 'info'
      this.opts.log[level]({ err: { message: (err as Error).message } }, 'signing keys not fetched')
      return false
    }
  }

  /** The PEM of `kid` as currently published, without fetching; undefined once auth stops publishing it. */
  published (kid: string): string | undefined {
    return this.keys.get(kid)
  }

  /** The PEM of `kid`; an unknown kid triggers a refetch unless one happened within minRefetchMs. */
  async keyFor (kid: unknown): Promise<string> {
    if (typeof kid !== 'string') throw new UnknownKeyError(kid)
    const pem = this.keys.get(kid)
    if (pem !== undefined) return pem
    if (Date.now() - this.lastFetch >= this.opts.minRefetchMs || this.inflight !== undefined) {
      await this.refresh()
      const fresh = this.keys.get(kid)
      if (fresh !== undefined) return fresh
    }
    if (!this.loaded) throw new NoKeysError()
    throw new UnknownKeyError(kid)
  }
}
