import { EVENTS_STREAM, REVOCATION_BUCKET, Subjects, prefixedName } from '@wxmp/contracts'

/**
 * The internal bus's permission matrix, the one place it is written. The nats-server config of dev, tests and
 * Kubernetes is rendered from it (server-config.ts) and the proof suite checks each line against a real server.
 * Everything not granted here is refused: the server's permissions are allow-lists.
 */

/**
 * One NATS identity per process kind; every replica of a service shares its kind's identity. `provisioner` is the
 * release step (a Kubernetes Job, or `pnpm --filter @wxmp/nats provision`) that creates the streams and buckets and
 * raises their replicas: the only identity that may update a stream.
 */
export const NATS_IDENTITIES = ['gateway', 'auth', 'user', 'payment', 'monitoring', 'provisioner'] as const
export type NatsIdentity = typeof NATS_IDENTITIES[number]

/** The services that answer request/reply subjects (their NATS service name is their identity). */
export type ServingIdentity = 'auth' | 'user' | 'payment'

/**
 * Who may send each request/reply subject. Public subjects carry the caller's `x-user-id`, which only the
 * gateway sets after verifying the JWT, so only the gateway may send them; internal ones come from the
 * services whose code calls them.
 */
export const CALLERS: Record<string, readonly NatsIdentity[]> = {
  ...Object.fromEntries(Object.values(Subjects.auth).map((s) => [s, ['gateway']])),
  ...Object.fromEntries(Object.values(Subjects.payment).map((s) => [s, ['gateway']])),
  [Subjects.user.ping]: ['gateway'],
  [Subjects.user.me]: ['gateway'],
  [Subjects.user.update]: ['gateway'],
  // auth creates, finds and links users during wx.login, password registration and phone binding.
  [Subjects.user.ensure]: ['auth'],
  [Subjects.user.create]: ['auth'],
  [Subjects.user.get]: ['auth'],
  [Subjects.user.setPhone]: ['auth'],
  // payment needs the buyer's openid to place a WeChat Pay order.
  [Subjects.user.identity]: ['payment'],
  // payment needs the user-state signature (made with the session_key, which never leaves auth) for a virtual payment.
  [Subjects.auth.signUserState]: ['payment'],
  // auth erases a deleted account's profile and finds users for staff (the username is auth's, the phone user's).
  [Subjects.user.erase]: ['auth'],
  [Subjects.user.search]: ['auth']
}

/** Who answers each subject: the service of its domain, nobody else (so only auth can answer `auth.jwks`). */
export function servingIdentity (subject: string): ServingIdentity {
  const domain = subject.slice(0, subject.indexOf('.'))
  if (domain !== 'auth' && domain !== 'user' && domain !== 'payment') throw new Error(`no service owns ${subject}`)
  return domain
}

/**
 * Services that publish events, each only under the event domains listed here: its own (auth's is its audit stream), for
 * auth `wechat`, since auth owns the message push token and key and publishes each verified push as
 * `events.wechat.<event>`, and for payment `admin`, the audit trail of staff actions on orders (approved, declined,
 * refunded, shipped, closed).
 */
export const EVENT_DOMAINS: Readonly<Partial<Record<ServingIdentity, readonly string[]>>> = {
  user: ['user'],
  payment: ['payment', 'admin'],
  auth: ['auth', 'wechat']
}
export const EVENT_PUBLISHERS = Object.keys(EVENT_DOMAINS) as readonly ServingIdentity[]

/**
 * Durable consumers of the EVENTS stream, each bound to the one identity that creates and reads it (payment acts on
 * the shipping pushes auth publishes). The durable name is fixed, so no identity can read through another's consumer.
 */
export const EVENT_CONSUMERS = [
  { identity: 'payment', durable: 'payment-shipping' },
  // payment erases the payer openid it keeps on the orders of a deleted user.
  { identity: 'payment', durable: 'payment-user-deleted' },
  // auth erases the account a WeChat push (user_authorization_revoke / _cancellation) names.
  { identity: 'auth', durable: 'auth-account-erasure' }
] as const satisfies ReadonlyArray<{ identity: NatsIdentity, durable: string }>

/** JetStream KV buckets: the one identity that writes each, and those that may only read or watch it. */
export const BUCKETS = [
  { name: REVOCATION_BUCKET.name, writer: 'auth', readers: ['gateway'] }
] as const satisfies ReadonlyArray<{ name: string, writer: NatsIdentity, readers: readonly NatsIdentity[] }>

/** Server-side permissions of one user, in nats-server's config shape. */
export interface NatsPermissions {
  publish: { allow: string[] }
  subscribe: { allow: string[] }
  /** Lets a responder publish one reply to the reply subject of each request it received; services only. */
  allow_responses?: { max: number, expires: string }
}

/**
 * Inbox prefix of an identity: replies and JetStream deliveries land under it, and only that identity may
 * subscribe there, so no process reads another's replies. Connections must set it as their `inboxPrefix`.
 * `operator` is the test server's stream inspector (scripts/test-nats.mjs), outside the matrix.
 */
export function inboxPrefix (identity: NatsIdentity | 'operator', prefix: string): string {
  return `_INBOX.${prefix}${identity}`
}

function streamApi (stream: string, ops: string[]): string[] {
  return ops.map((op) => `$JS.API.STREAM.${op}.${stream}`)
}

/** What `identity` may publish and subscribe to, with every subject under the deployment `prefix`. */
export function permissionsFor (identity: NatsIdentity, prefix: string): NatsPermissions {
  const publish = new Set<string>()
  const subscribe = new Set<string>([`${inboxPrefix(identity, prefix)}.>`])

  for (const [subject, callers] of Object.entries(CALLERS)) {
    if (callers.includes(identity)) publish.add(prefix + subject)
    if (servingIdentity(subject) === identity) subscribe.add(prefix + subject)
  }

  if (identity === 'auth' || identity === 'user' || identity === 'payment') {
    // nats.js services answer discovery for their own name: $SRV.PING, $SRV.PING.<name>, $SRV.PING.<name>.<id>.
    for (const verb of ['PING', 'INFO', 'STATS']) {
      subscribe.add(`$SRV.${verb}`)
      subscribe.add(`$SRV.${verb}.${identity}`)
      subscribe.add(`$SRV.${verb}.${identity}.*`)
    }
  }
  if (identity === 'monitoring') publish.add('$SRV.>')

  const usesJetStream = identity === 'provisioner' || (EVENT_PUBLISHERS as readonly string[]).includes(identity) ||
    BUCKETS.some((b) => b.writer === identity || (b.readers as readonly string[]).includes(identity))
  // The client's API check: account limits only.
  if (usesJetStream) publish.add('$JS.API.INFO')

  if ((EVENT_PUBLISHERS as readonly string[]).includes(identity)) {
    // Every publisher creates the shared EVENTS stream if missing (start order does not matter); creating a
    // stream that exists with the same config is a no-op; only the provisioner may update it, and no one purge or delete it.
    const stream = prefixedName(prefix, EVENTS_STREAM.name)
    for (const s of streamApi(stream, ['INFO', 'CREATE'])) publish.add(s)
    for (const domain of EVENT_DOMAINS[identity as ServingIdentity] ?? []) publish.add(`${prefix}events.${domain}.>`)
  }

  for (const c of EVENT_CONSUMERS) {
    if (c.identity !== identity) continue
    const stream = prefixedName(prefix, EVENTS_STREAM.name)
    publish.add(`$JS.API.CONSUMER.INFO.${stream}.${c.durable}`)
    publish.add(`$JS.API.CONSUMER.CREATE.${stream}.${c.durable}`)
    publish.add(`$JS.API.CONSUMER.CREATE.${stream}.${c.durable}.>`)
    publish.add(`$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${c.durable}`)
    publish.add(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${c.durable}`)
    publish.add(`$JS.ACK.${stream}.${c.durable}.>`)
  }

  for (const bucket of BUCKETS) {
    const name = prefixedName(prefix, bucket.name)
    const stream = `KV_${name}`
    const writes = bucket.writer === identity
    const reads = writes || (bucket.readers as readonly string[]).includes(identity)
    if (!reads) continue
    for (const s of streamApi(stream, ['INFO'])) publish.add(s)
    // Get: direct get (bucket streams allow it) or the stream's message API.
    publish.add(`$JS.API.DIRECT.GET.${stream}`)
    publish.add(`$JS.API.DIRECT.GET.${stream}.>`)
    publish.add(`$JS.API.STREAM.MSG.GET.${stream}`)
    // Watch: an ordered consumer, recreated after gaps, answering the stream's flow control.
    publish.add(`$JS.API.CONSUMER.CREATE.${stream}`)
    publish.add(`$JS.API.CONSUMER.CREATE.${stream}.>`)
    publish.add(`$JS.API.CONSUMER.INFO.${stream}.*`)
    publish.add(`$JS.API.CONSUMER.DELETE.${stream}.*`)
    publish.add(`$JS.FC.${stream}.>`)
    if (writes) {
      // The writer creates the bucket and puts, deletes or purges keys (a KV purge is a publish to the key).
      publish.add(`$JS.API.STREAM.CREATE.${stream}`)
      publish.add(`$KV.${name}.>`)
    }
  }

  if (identity === 'provisioner') {
    // Creates EVENTS and every bucket's stream with the configured replicas and raises one that has fewer: the one
    // grant of STREAM.UPDATE in the matrix, on those streams only. It reads no message, writes no key, publishes no
    // event, and may not purge or delete anything.
    const streams = [prefixedName(prefix, EVENTS_STREAM.name), ...BUCKETS.map((b) => `KV_${prefixedName(prefix, b.name)}`)]
    for (const stream of streams) for (const s of streamApi(stream, ['INFO', 'CREATE', 'UPDATE'])) publish.add(s)
  }

  const answers = identity === 'auth' || identity === 'user' || identity === 'payment'
  return {
    publish: { allow: [...publish].sort() },
    subscribe: { allow: [...subscribe].sort() },
    ...(answers ? { allow_responses: { max: 1, expires: '1m' } } : {})
  }
}

/** The whole matrix for a deployment prefix. */
export function permissionMatrix (prefix: string): Record<NatsIdentity, NatsPermissions> {
  return Object.fromEntries(NATS_IDENTITIES.map((id) => [id, permissionsFor(id, prefix)])) as Record<NatsIdentity, NatsPermissions>
}
