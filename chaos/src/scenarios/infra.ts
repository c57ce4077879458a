import type { FaultSpec } from './fault.js'

/** The private nats-server killed and started again on the same port and store. */
export const natsRestart: FaultSpec = {
  name: 'nats-restart',
  fault: 'The private nats-server is killed (SIGKILL) mid-load and started again on the same port and JetStream store. Requests in flight time out (504) or find no responders (503); every process reconnects by itself.',
  inject: async ({ stack }) => { await stack.nats.stop() },
  recover: async ({ stack }) => { await stack.nats.start() }
}

/** The private redis-server killed and started again empty. */
export const redisRestart: FaultSpec = {
  name: 'redis-restart',
  fault: 'The private redis-server is killed mid-load and started again empty (it keeps nothing on disk). Rate limits fail open, the login-code dedupe is skipped while it is down; sessions live in Postgres, so nobody is logged out.',
  inject: async ({ stack }) => { await stack.redis.stop() },
  recover: async ({ stack }) => { await stack.redis.start() }
}

/** The throwaway Postgres cluster stopped as a crash would and started again (WAL recovery). */
export const postgresRestart: FaultSpec = {
  name: 'postgres-restart',
  fault: 'The throwaway Postgres cluster is stopped with `pg_ctl stop -m immediate` (a crash: no checkpoint) mid-load and started again, replaying its WAL. Pools lose every connection; notifications that fail meanwhile are retried by WeChat Pay.',
  inject: async ({ stack }) => { await stack.pg.stop() },
  recover: async ({ stack }) => { await stack.pg.start() }
}

/** One of two payment replicas and one of two user replicas SIGKILLed mid-load. */
export const replicaKill: FaultSpec = {
  name: 'replica-kill',
  fault: 'One of two payment replicas, then one of two user replicas, is SIGKILLed mid-load. The NATS queue groups send the traffic to the survivors; requests the dead process held time out (504) and their clients retry with the same Idempotency-Key, which the survivor completes once the dead request\'s lease runs out.',
  instant: true,
  inject: async ({ stack, timing }) => {
    await stack.payments[0]?.kill()
    await new Promise((resolve) => setTimeout(resolve, Math.min(1000, timing.faultMs / 3)))
    await stack.users[0]?.kill()
  },
  recover: async () => {},
  restore: async ({ stack }) => {
    await stack.payments[0]?.start()
    await stack.users[0]?.start()
  }
}
