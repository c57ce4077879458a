import t from 'tap'
import { connect, headers, nkeyAuthenticator } from '@nats-io/transport-node'
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream'
import { Kvm } from '@nats-io/kv'
import { Svcm } from '@nats-io/services'
import { EventSubjects, REVOCATION_BUCKET, Subjects, prefixedName, wechatPushSubject } from '@wxmp/contracts'
import { createLogger } from '@wxmp/core'
import { CALLERS, NATS_IDENTITIES, NatsService, createNkeyUser, ensureEventsStream, eventsStreamName, inboxPrefix, openRevocationBucket, permissionsFor, provisionJetStream, revocationBucketName, servingIdentity, type NatsIdentity } from '../src/index.js'
import { matrixServer, outcome, subscribeOutcome, until } from './helpers/matrix-server.js'

const ALL_SUBJECTS = [...Object.values(Subjects.auth), ...Object.values(Subjects.user), ...Object.values(Subjects.payment)]
const SERVICES = ['auth', 'user', 'payment'] as const

t.test('the matrix names a caller and one owner for every subject', async (t) => {
  t.same(Object.keys(CALLERS).sort(), [...ALL_SUBJECTS].sort(), 'every request/reply subject has callers, and only those')
  for (const s of ALL_SUBJECTS) t.ok(CALLERS[s]!.length > 0, `${s} has a caller`)
  for (const s of ALL_SUBJECTS) t.equal(servingIdentity(s), s.split('.')[0], `${s} is answered by its domain`)
  // Internal subjects: what the issue lists, pinned so a widening shows up in review.
  t.same(CALLERS[Subjects.user.identity], ['payment'])
  t.same(CALLERS[Subjects.user.ensure], ['auth'])
  t.same(CALLERS[Subjects.user.setPhone], ['auth'])
  t.same(CALLERS[Subjects.auth.signUserState], ['payment'], 'only payment asks auth to sign with a session_key')
  for (const s of ALL_SUBJECTS.filter((s) => !s.startsWith('user.') && s !== Subjects.auth.signUserState)) t.same(CALLERS[s], ['gateway'], `${s} is public: gateway only`)
  t.notOk(permissionsFor('gateway', '').allow_responses, 'the gateway answers nothing')
  t.notOk(permissionsFor('monitoring', '').allow_responses, 'monitoring answers nothing')
})

t.test('a private server with the rendered config proves each line', async (t) => {
  const { server, prefix, as } = await matrixServer(t)
  const nc = {} as Record<NatsIdentity, Awaited<ReturnType<typeof as>>>
  for (const id of NATS_IDENTITIES) nc[id] = await as(id)

  t.test('anonymous clients and unknown keys are refused', async (t) => {
    await t.rejects(connect({ servers: server.url, maxReconnectAttempts: 0, reconnect: false }), /Authorization Violation/, 'no credentials')
    const stranger = createNkeyUser()
    await t.rejects(connect({ servers: server.url, reconnect: false, authenticator: nkeyAuthenticator(new TextEncoder().encode(stranger.seed)) }),
      /Authorization Violation/, 'a key the config does not list')
  })

  t.test('only the owner can subscribe to (answer) a service\'s subjects', async (t) => {
    for (const subject of ALL_SUBJECTS) {
      for (const id of NATS_IDENTITIES) {
        const expected = servingIdentity(subject) === id ? 'ok' : 'refused'
        t.equal(await subscribeOutcome(nc[id], prefix + subject), expected, `${id} subscribing to ${subject}`)
      }
    }
    for (const id of NATS_IDENTITIES) {
      t.equal(await subscribeOutcome(nc[id], `${prefix}>`), 'refused', `${id} cannot subscribe to every subject`)
      t.equal(await subscribeOutcome(nc[id], '_INBOX.>'), 'refused', `${id} cannot read every reply`)
      for (const other of NATS_IDENTITIES.filter((o) => o !== id)) {
        t.equal(await subscribeOutcome(nc[id], `${inboxPrefix(other, prefix)}.>`), 'refused', `${id} cannot read ${other}'s replies`)
      }
    }
  })

  t.test('requests reach the owner only from their callers; x-user-id comes only from the gateway', async (t) => {
    // Each owner answers every one of its subjects with the x-user-id it received.
    for (const svc of SERVICES) {
      for (const subject of ALL_SUBJECTS.filter((s) => servingIdentity(s) === svc)) {
        nc[svc].subscribe(prefix + subject, { callback: (_err, msg) => { msg.respond(msg.headers?.get('x-user-id') ?? '') } })
      }
      await nc[svc].flush()
    }
    for (const subject of ALL_SUBJECTS) {
      for (const id of NATS_IDENTITIES) {
        const h = headers()
        h.set('x-user-id', 'someone-else')
        const allowed = CALLERS[subject]!.includes(id)
        const reply = nc[id].request(prefix + subject, '{}', { timeout: 5000, headers: h })
        if (allowed) t.equal((await reply).string(), 'someone-else', `${id} -> ${subject} is answered`)
        else t.equal(await outcome(reply), 'refused', `${id} -> ${subject} is refused`)
      }
    }
    // The attacks of the issue, by name.
    t.equal(await outcome(nc.user.request(prefix + Subjects.payment.getOrder, '{}', { timeout: 5000 })), 'refused', 'user cannot read an order as anyone')
    t.equal(await outcome(nc.payment.request(prefix + Subjects.auth.logoutAll, '{}', { timeout: 5000 })), 'refused', 'payment cannot log anyone out')
    t.equal(await outcome(nc.gateway.request(prefix + Subjects.user.identity, '{}', { timeout: 5000 })), 'refused', 'the gateway cannot look up openids')
    t.equal(await outcome(nc.gateway.request(prefix + Subjects.user.setPhone, '{}', { timeout: 5000 })), 'refused', 'the gateway cannot set a phone directly')
    t.equal(await outcome(nc.gateway.request(prefix + Subjects.auth.signUserState, '{}', { timeout: 5000 })), 'refused', 'the gateway cannot have anything signed with a session_key')
    t.equal(await outcome(nc.user.request(prefix + Subjects.auth.signUserState, '{}', { timeout: 5000 })), 'refused', 'nor can user')
  })

  t.test('only auth writes the revocation bucket; the gateway reads and watches it', async (t) => {
    const bucket = prefixedName(prefix, REVOCATION_BUCKET.name)
    const authKv = await openRevocationBucket(nc.auth, prefix, { replicas: 1, writer: true })
    await authKv.put('s1', JSON.stringify({ userId: 'u1', revokedAt: new Date(0).toISOString() }))

    // The gateway opens it the way services/gateway does: create, which finds the existing stream.
    const gwKv = await openRevocationBucket(nc.gateway, prefix, { replicas: 1 })
    t.equal((await gwKv.get('s1'))?.json<{ userId: string }>().userId, 'u1', 'the gateway reads an entry')
    const seen = new Set<string>()
    const watch = await gwKv.watch()
    t.teardown(() => { watch.stop() })
    void (async () => { for await (const e of watch) seen.add(e.key) })()
    await authKv.put('s2', '{}')
    t.ok(await until(() => seen.has('s1') && seen.has('s2')), 'the gateway\'s watch sees old and new revocations')

    const kvStream = `KV_${bucket}`
    for (const id of NATS_IDENTITIES.filter((id) => id !== 'auth')) {
      const kv = id === 'gateway' ? gwKv : await new Kvm(nc[id]).open(bucket).catch(() => undefined)
      if (kv !== undefined) {
        t.equal(await outcome(kv.put('s3', '{}')), 'refused', `${id} cannot add a revocation`)
        t.equal(await outcome(kv.delete('s1')), 'refused', `${id} cannot delete a revocation`)
        t.equal(await outcome(kv.purge('s1')), 'refused', `${id} cannot purge a revocation`)
      }
      t.equal(await outcome(nc[id].request(`$KV.${bucket}.s1`, '', { timeout: 5000 })), 'refused', `${id} cannot publish to the bucket's subjects`)
      // The provisioner's UPDATE is proved in its own test below.
      for (const op of id === 'provisioner' ? ['PURGE', 'DELETE'] : ['PURGE', 'DELETE', 'UPDATE']) {
        t.equal(await outcome(nc[id].request(`$JS.API.STREAM.${op}.${kvStream}`, '{}', { timeout: 5000 })), 'refused', `${id} cannot ${op} the bucket's stream`)
      }
      t.equal(await outcome(nc[id].request(`$JS.API.STREAM.MSG.DELETE.${kvStream}`, '{"seq":1}', { timeout: 5000 })), 'refused', `${id} cannot delete a message`)
    }
    for (const id of ['user', 'payment', 'monitoring', 'provisioner'] as const) {
      t.equal(await outcome(nc[id].request(`$JS.API.DIRECT.GET.${kvStream}.$KV.${bucket}.s1`, '', { timeout: 5000 })), 'refused', `${id} cannot read revocations`)
    }
    for (const op of ['PURGE', 'DELETE', 'UPDATE']) {
      t.equal(await outcome(nc.auth.request(`$JS.API.STREAM.${op}.${kvStream}`, '{}', { timeout: 5000 })), 'refused', `not even auth can ${op} the bucket's stream`)
    }
    t.equal((await authKv.get('s1'))?.operation, 'PUT', 'the entry survived every attempt')
    t.equal(await outcome(authKv.delete('s2')), 'ok', 'auth itself can still delete an entry')
  })

  t.test('each service publishes only its own events', async (t) => {
    await ensureEventsStream(nc.user, prefix, { replicas: 1 })
    await ensureEventsStream(nc.payment, prefix, { replicas: 1 })
    await ensureEventsStream(nc.auth, prefix, { replicas: 1 })
    const js = (id: NatsIdentity) => jetstream(nc[id])
    const publish = (id: NatsIdentity, subject: string) => js(id).publish(prefix + subject, '{}', { msgID: `${id}-${subject}`, timeout: 5000 })
    t.equal(await outcome(publish('user', EventSubjects.userCreated)), 'ok', 'user publishes events.user.*')
    t.equal(await outcome(publish('payment', EventSubjects.paymentSucceeded)), 'ok', 'payment publishes events.payment.*')
    t.equal(await outcome(publish('user', EventSubjects.paymentSucceeded)), 'refused', 'user cannot forge a payment event')
    t.equal(await outcome(publish('payment', EventSubjects.userCreated)), 'refused', 'payment cannot forge a user event')
    t.equal(await outcome(publish('payment', EventSubjects.adminRefundApproved)), 'ok', 'payment publishes the staff audit events.admin.*')
    for (const id of ['user', 'gateway'] as const) t.equal(await outcome(publish(id, EventSubjects.adminRefundApproved)), 'refused', `${id} cannot forge a staff audit event`)
    const pushEvent = wechatPushSubject('trade_manage_order_settlement')
    t.equal(await outcome(publish('auth', pushEvent)), 'ok', 'auth publishes the message push events.wechat.*')
    for (const id of ['user', 'payment'] as const) t.equal(await outcome(publish(id, pushEvent)), 'refused', `${id} cannot forge a message push`)
    const domainEvents = [EventSubjects.userCreated, EventSubjects.paymentSucceeded, EventSubjects.paymentRefunded]
    for (const id of ['gateway', 'monitoring', 'provisioner'] as const) {
      for (const subject of [...domainEvents, pushEvent]) t.equal(await outcome(publish(id, subject)), 'refused', `${id} cannot publish ${subject}`)
    }
    for (const subject of domainEvents) t.equal(await outcome(publish('auth', subject)), 'refused', `auth cannot publish ${subject}`)
    const stream = eventsStreamName(prefix)
    for (const id of NATS_IDENTITIES) {
      for (const op of id === 'provisioner' ? ['PURGE', 'DELETE'] : ['PURGE', 'DELETE', 'UPDATE']) {
        t.equal(await outcome(nc[id].request(`$JS.API.STREAM.${op}.${stream}`, '{}', { timeout: 5000 })), 'refused', `${id} cannot ${op} EVENTS`)
      }
    }
    const jsm = await jetstreamManager(nc.user)
    t.equal((await jsm.streams.info(stream)).state.messages, 4, 'exactly the four permitted events are stored')

    // The shipping pushes reach payment through its own durable consumer; nobody else can create or read it.
    const consumer = { durable_name: 'payment-shipping', ack_policy: AckPolicy.Explicit, filter_subject: prefix + 'events.wechat.>' }
    for (const id of ['user', 'auth', 'gateway'] as const) {
      t.equal(await outcome(jetstreamManager(nc[id]).then(async (m) => await m.consumers.add(stream, consumer))), 'refused', `${id} cannot create payment's consumer`)
    }
    const pjsm = await jetstreamManager(nc.payment)
    t.equal(await outcome(pjsm.consumers.add(stream, consumer)), 'ok', 'payment creates its consumer')
    const got = await (await jetstream(nc.payment).consumers.get(stream, 'payment-shipping')).next({ expires: 5000 })
    t.equal(got?.subject, prefix + pushEvent, 'payment reads the push through it')
    got?.ack()
    t.equal(await outcome(jetstream(nc.user).consumers.get(stream, 'payment-shipping').then(async (c) => await c.next({ expires: 2000 }))), 'refused', 'user cannot read through it')
  })

  t.test('monitoring discovers services over $SRV; nobody else can', async (t) => {
    const log = createLogger({ service: 'nats-matrix', level: 'silent' })
    const service = new NatsService(nc.user, { name: 'user', version: '1.0.0', prefix, log })
    await service.start([])
    t.teardown(async () => { await service.stop() })
    const client = new Svcm(nc.monitoring).client()
    const names = new Set<string>()
    t.ok(await until(async () => {
      for await (const p of await client.ping('user')) names.add(p.name)
      return names.has('user')
    }), 'monitoring pings the user service')
    const infos = []
    for await (const i of await client.info('user')) infos.push(i)
    t.equal(infos[0]?.name, 'user', 'and reads its info')
    for (const id of ['gateway', 'auth', 'user', 'payment', 'provisioner'] as const) {
      t.equal(await outcome(nc[id].request('$SRV.PING.user', '', { timeout: 5000 })), 'refused', `${id} cannot run discovery`)
    }
    t.equal(await subscribeOutcome(nc.auth, '$SRV.PING.user'), 'refused', 'auth cannot answer discovery as user')
  })
  t.test('only the provisioner raises a stream\'s replicas; services cannot update a stream', async (t) => {
    // EVENTS and the bucket exist by now (the tests above made them with one copy). On one server a raise to 3
    // cannot be placed, so the proof updates them without changing their copies: the permission is under test
    // here; the raise itself is proved on a cluster in replicas.test.ts.
    const stream = eventsStreamName(prefix)
    const bucketStream = `KV_${revocationBucketName(prefix)}`
    const clients = nc
    const report = await provisionJetStream(clients.provisioner, { prefix, replicas: 1 })
    t.same(report, [{ stream, replicas: 1 }, { stream: bucketStream, replicas: 1 }], 'the provisioner ensures EVENTS and the revocation bucket')
    for (const name of [stream, bucketStream]) {
      const info = await (await jetstreamManager(clients.provisioner)).streams.info(name)
      const update = async (id: NatsIdentity): Promise<unknown> => await (await jetstreamManager(clients[id])).streams.update(name, { ...info.config, description: `raised by ${id}` })
      t.equal(await outcome(update('provisioner')), 'ok', `the provisioner updates ${name}`)
      for (const id of NATS_IDENTITIES.filter((id) => id !== 'provisioner')) t.equal(await outcome(update(id)), 'refused', `${id} cannot update ${name}`)
      for (const op of ['PURGE', 'DELETE']) {
        t.equal(await outcome(clients.provisioner.request(`$JS.API.STREAM.${op}.${name}`, '{}', { timeout: 5000 })), 'refused', `the provisioner cannot ${op} ${name}`)
      }
      t.equal(await outcome(clients.provisioner.request(`$JS.API.STREAM.MSG.GET.${name}`, '{"seq":1}', { timeout: 5000 })), 'refused', `the provisioner cannot read ${name}'s messages`)
    }
    // Its STREAM.UPDATE names EVENTS and the buckets, nothing else.
    t.equal(await outcome(clients.provisioner.request(`$JS.API.STREAM.UPDATE.${prefixedName(prefix, 'OTHER')}`, '{}', { timeout: 5000 })), 'refused', 'the provisioner cannot update another stream')
    t.equal(await outcome(clients.provisioner.request(`$JS.API.STREAM.CREATE.${prefixedName(prefix, 'OTHER')}`, '{}', { timeout: 5000 })), 'refused', 'nor create one')
    const kv = await new Kvm(clients.provisioner).open(revocationBucketName(prefix))
    t.equal(await outcome(kv.put('s1', '{}')), 'refused', 'the provisioner cannot write a revocation')
    t.equal(await outcome(jetstream(clients.provisioner).publish(prefix + EventSubjects.paymentSucceeded, '{}', { timeout: 5000 })), 'refused', 'nor publish an event')
  })
})
