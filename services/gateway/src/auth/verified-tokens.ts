/** What the edge takes from a verified access token for `request.trace`. */
export interface VerifiedIdentity {
  userId: string
  sessionId: string
  role: string
  authTime?: number
  amr?: readonly string[]
}

interface Entry {
  identity: VerifiedIdentity
  /** The signing key's id and the PEM it was verified with: the entry holds only while auth publishes that key. */
  kid: string
  pem: string
  /** Bounds of the window the verification holds for, in epoch ms (as fast-jwt's own cache computes them). */
  notBefore: number
  notAfter: number
}

export interface VerifiedTokensOptions {
  /** Most tokens remembered; the oldest entry makes room for a new one. */
  max: number
  /** Longest an entry is trusted without verifying the signature again, whatever the token's own lifetime. */
  ttlMs: number
  /** Clock skew tolerated on exp and nbf, in ms, as the verifier tolerates it. */
  clockToleranceMs: number
  /** Longest a token lives counted from its iat, in ms, as the verifier enforces it. */
  maxAgeMs: number
  /** The PEM a kid is currently published with (Keyring.published). */
  published: (kid: string) => string | undefined
}

/**
 * The identities of access tokens whose signature and claims were verified, keyed by the whole
 * Authorization header, so a client's next request with the same token costs a Map lookup instead
 * of a decode, a SHA-256 of the token and the verifier's promise chain. An entry is used only
 * inside the window the verification holds for (nbf, exp, iat + max age, and a re-verify bound),
 * and only while auth still publishes the key it was verified with; the session's revocation is
 * not cached and is judged on every request by the caller.
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, Entry>()

  constructor (private readonly opts: VerifiedTokensOptions) {}

  get size (): number { return this.entries.size }

  /** The identity of a header verified before and still within its window, else undefined. */
  get (header: string, now = Date.now()): VerifiedIdentity | undefined {
    const e = this.entries.get(header)
    if (e === undefined) return undefined
    if (now > e.notAfter || this.opts.published(e.kid) !== e.pem) {
      this.entries.delete(header)
      return undefined
    }
    return now >= e.notBefore ? e.identity : undefined
  }

  /** Remembers a header whose token was just verified with `pem` under `kid`. */
  set (header: string, claims: { iat?: number, exp?: number, nbf?: number }, kid: string, pem: string, identity: VerifiedIdentity, now = Date.now()): void {
    const { clockToleranceMs, ttlMs, maxAgeMs } = this.opts
    let notAfter = now + clockToleranceMs + ttlMs
    if (typeof claims.exp === 'number') notAfter = Math.min(notAfter, claims.exp * 1000 + clockToleranceMs)
    if (typeof claims.iat === 'number') notAfter = Math.min(notAfter, claims.iat * 1000 + maxAgeMs)
    const notBefore = typeof claims.nbf === 'number' ? claims.nbf * 1000 - clockToleranceMs : 0
    if (!(notAfter > now)) return
    if (!this.entries.has(header) && this.entries.size >= this.opts.max) {
      const oldest = this.entries.keys().next().value
      if (oldest !== undefined) this.entries.delete(oldest)
    }
    this.entries.set(header, { identity, kid, pem, notBefore, notAfter })
  }
}
