import type { ClusterNode } from '@wxmp/testing'

async function monitor<T> (node: ClusterNode, path: string): Promise<T | undefined> {
  try {
    const res = await fetch(`${node.monitorUrl}${path}`, { signal: AbortSignal.timeout(2000) })
    return res.ok ? await res.json() as T : undefined
  } catch {
    return undefined
  }
}

async function untilFound<T> (what: string, find: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = await find()
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(`no ${what} after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/** The node holding the JetStream meta leader, as the running nodes report it. */
export async function metaLeader (nodes: ClusterNode[], timeoutMs = 30_000): Promise<ClusterNode> {
  return await untilFound('meta leader', async () => {
    for (const n of nodes) {
      const jsz = await monitor<{ meta_cluster?: { leader?: string } }>(n, '/jsz')
      const leader = nodes.find((x) => x.name === jsz?.meta_cluster?.leader)
      if (leader !== undefined) return leader
    }
    return undefined
  }, timeoutMs)
}

interface MetaCluster { leader?: string, replicas?: Array<{ name: string, current?: boolean }> }

/**
 * Waits until the cluster has a meta leader that sees every other node as a current peer: before that, a stream with
 * as many replicas as nodes has nowhere to be placed.
 */
export async function clusterFormed (nodes: ClusterNode[], timeoutMs = 60_000): Promise<ClusterNode> {
  return await untilFound('formed cluster', async () => {
    for (const n of nodes) {
      const jsz = await monitor<{ meta_cluster?: MetaCluster }>(n, '/jsz')
      const meta = jsz?.meta_cluster
      const leader = nodes.find((x) => x.name === meta?.leader)
      if (leader === undefined || leader !== n) continue
      const peers = meta?.replicas ?? []
      if (peers.length >= nodes.length - 1 && peers.every((p) => p.current === true)) return leader
    }
    return undefined
  }, timeoutMs)
}

interface StreamDetail { name: string, cluster?: { leader?: string } }
interface Jsz { account_details?: Array<{ stream_detail?: StreamDetail[] }> }

/** The node holding the leader of a stream (a KV bucket's is `KV_<bucket>`). */
export async function streamLeader (nodes: ClusterNode[], stream: string, timeoutMs = 30_000): Promise<ClusterNode> {
  return await untilFound(`leader of ${stream}`, async () => {
    for (const n of nodes) {
      const jsz = await monitor<Jsz>(n, '/jsz?accounts=true&streams=true')
      for (const a of jsz?.account_details ?? []) {
        const s = a.stream_detail?.find((d) => d.name === stream)
        const leader = nodes.find((x) => x.name === s?.cluster?.leader)
        if (leader !== undefined) return leader
      }
    }
    return undefined
  }, timeoutMs)
}

/** The node a client connection (by the start of its name, e.g. `gateway@`) is connected to. */
export async function nodeOfConnection (nodes: ClusterNode[], namePrefix: string, timeoutMs = 30_000): Promise<ClusterNode> {
  return await untilFound(`node of ${namePrefix}`, async () => {
    for (const n of nodes) {
      const connz = await monitor<{ connections?: Array<{ name?: string }> }>(n, '/connz?limit=1024')
      if (connz?.connections?.some((c) => c.name?.startsWith(namePrefix) === true) === true) return n
    }
    return undefined
  }, timeoutMs)
}
