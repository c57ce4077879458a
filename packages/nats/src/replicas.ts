import type { JetStreamManager, StreamConfig } from '@nats-io/jetstream'
import type { Log } from '@wxmp/core'

/**
 * Creates a stream (or a KV bucket's stream) with `replicas` copies when missing, and raises one that has fewer:
 * a stream made before the cluster grew keeps one copy, and loses everything with its node, until raised. It never
 * lowers a count an operator set higher. Every stream and bucket of the project goes through here or through
 * {@link raiseReplicas}, so none is made with the server's default of one.
 */
export async function ensureStream (jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }, replicas: number, log?: Log): Promise<void> {
  try {
    await jsm.streams.info(config.name)
  } catch {
    try {
      await jsm.streams.add({ ...config, num_replicas: replicas })
      return
    } catch (err) {
      // Another replica created it between the lookup and the add.
      await jsm.streams.info(config.name).catch(() => { throw err })
    }
  }
  await raiseReplicas(jsm, config.name, replicas, log)
}

/**
 * Raises a stream's replica count to `replicas` when it has fewer. Raising needs `$JS.API.STREAM.UPDATE` on it, which
 * the permission matrix gives the provisioner alone; for the services the shortfall is logged as an error (naming the
 * stream, the counts and who can raise it) and the process carries on with what it has.
 */
export async function raiseReplicas (jsm: JetStreamManager, name: string, replicas: number, log?: Log): Promise<void> {
  const info = await jsm.streams.info(name)
  const have = info.config.num_replicas ?? 1
  if (have >= replicas) return
  try {
    await jsm.streams.update(name, { ...info.config, num_replicas: replicas })
    log?.info({ stream: name, from: have, to: replicas }, 'stream replicas raised')
  } catch (err) {
    log?.error({
      stream: name,
      replicas: have,
      configured: replicas,
      action: 'raise it as the provisioner identity: the nats-provision Job, or pnpm --filter @wxmp/nats provision',
      err: { message: (err as Error).message }
    }, 'stream has fewer replicas than configured and could not be raised')
  }
}
