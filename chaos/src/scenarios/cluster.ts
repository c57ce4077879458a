import { REVOCATION_BUCKET, prefixedName } from '@wxmp/contracts'
import type { ClusterNode } from '@wxmp/testing'
import { metaLeader, nodeOfConnection, streamLeader } from '../infra/cluster.js'
import type { ScenarioContext } from './context.js'
import type { FaultSpec } from './fault.js'

/** How to find the node a scenario kills, once the cluster is settled. */
type Target = (ctx: ScenarioContext) => Promise<ClusterNode>

/** A node of the three-node cluster SIGKILLed mid-load, with steady logouts, and started again after the fault. */
function nodeKill (name: string, what: string, target: Target): FaultSpec {
  let killed: ClusterNode | undefined
  return {
    name,
    fault: `On a three-node JetStream cluster (every stream and bucket with three replicas), the node holding ${what} is SIGKILLed mid-load and started again on the same ports and store after the fault. Users log out every few iterations and try their old token at once and a moment later; each must be refused from the moment the logout answered.`,
    load: { logoutEvery: 3 },
    inject: async (ctx) => {
      killed = await target(ctx)
      ctx.log(`${name}: killing ${killed.name}`)
      await killed.stop()
    },
    recover: async () => { await killed?.start() },
    notes: () => killed === undefined ? [] : [`killed ${killed.name}`]
  }
}

const nodes = (ctx: ScenarioContext): ClusterNode[] => ctx.stack.natsNodes

export const clusterMetaLeader = nodeKill('cluster-meta-leader', 'the JetStream meta leader', async (ctx) => await metaLeader(nodes(ctx)))

export const clusterBucketLeader = nodeKill('cluster-bucket-leader', 'the revocation bucket\'s stream leader', async (ctx) =>
  await streamLeader(nodes(ctx), `KV_${prefixedName(ctx.stack.prefix, REVOCATION_BUCKET.name)}`))

export const clusterGatewayNode = nodeKill('cluster-gateway-node', 'the gateway\'s connection', async (ctx) => await nodeOfConnection(nodes(ctx), 'gateway@'))
