import { createUser, fromSeed } from '@nats-io/nkeys'
import { NATS_IDENTITIES, type NatsIdentity } from './permissions.js'

/** An nkey user: the seed stays with the process, the public key goes into the server config. */
export interface NkeyUser {
  seed: string
  publicKey: string
}

/** A fresh nkey user (an ed25519 key pair; the server stores only the public half). */
export function createNkeyUser (): NkeyUser {
  const kp = createUser()
  return { seed: new TextDecoder().decode(kp.getSeed()), publicKey: kp.getPublicKey() }
}

/** The public key of a user seed (`SU...`), to check a seed file against the config it should match. */
export function nkeyPublicKey (seed: string): string {
  return fromSeed(new TextEncoder().encode(seed.trim())).getPublicKey()
}

/** One fresh nkey user per identity of the matrix. */
export function createIdentityUsers (): Record<NatsIdentity, NkeyUser> {
  return Object.fromEntries(NATS_IDENTITIES.map((id) => [id, createNkeyUser()])) as Record<NatsIdentity, NkeyUser>
}
