import { startStack, untilReady, type Stack } from './stack.js'
import type { ScenarioResult } from './report.js'
import { runFault, type FaultSpec } from './scenarios/fault.js'
import { natsRestart, postgresRestart, redisRestart, replicaKill } from './scenarios/infra.js'
import { clusterBucketLeader, clusterGatewayNode, clusterMetaLeader } from './scenarios/cluster.js'
import { notificationStorm, wechatBadSignatures, wechatErrors, wechatSlow } from './scenarios/wechat.js'
import { badInput } from './scenarios/bad-input.js'
import { shippingFaults } from './scenarios/shipping.js'
import type { ScenarioContext, Timing } from './scenarios/context.js'

export interface Scenario {
  name: string
  run: (ctx: ScenarioContext) => Promise<ScenarioResult>
  /** Runs on a stack whose NATS is a three-node JetStream cluster. */
  cluster?: boolean
}

const fault = (spec: FaultSpec): Scenario => ({ name: spec.name, run: async (ctx) => await runFault(ctx, spec) })
const onCluster = (spec: FaultSpec): Scenario => ({ ...fault(spec), cluster: true })

/** Every scenario, in the order the suite runs them. */
export const SCENARIOS: Scenario[] = [
  fault(natsRestart),
  fault(redisRestart),
  fault(postgresRestart),
  fault(replicaKill),
  fault(wechatSlow),
  fault(wechatErrors),
  fault(wechatBadSignatures),
  fault(notificationStorm),
  fault(shippingFaults),
  { name: badInput.name, run: badInput.run },
  // In turn on one cluster: the meta leader's node, then the bucket leader's, then the gateway's.
  onCluster(clusterMetaLeader),
  onCluster(clusterBucketLeader),
  onCluster(clusterGatewayNode)
]

export interface SuiteOptions {
  timing: Timing
  /** Scenario names to run; all when empty. */
  only?: string[]
  log?: (line: string) => void
  logLevel?: string
  logDir?: string
  /** Called after each scenario (tap asserts there). */
  onResult?: (r: ScenarioResult) => void | Promise<void>
}

export interface SuiteRun {
  results: ScenarioResult[]
  stack: Stack
  /** Processes that were not running, or had died on their own, at the end. */
  dead: string[]
}

/** Starts one stack, runs the scenarios on it in turn, and tears it all down, whatever happens. */
export async function runSuite (opts: SuiteOptions): Promise<Omit<SuiteRun, 'stack'>> {
  const began = Date.now()
  const sink = opts.log ?? ((line: string) => { process.stderr.write(`chaos: ${line}\n`) })
  const log = (line: string): void => { sink(`[${((Date.now() - began) / 1000).toFixed(1)} s] ${line}`) }
  const chosen = opts.only === undefined || opts.only.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => opts.only?.includes(s.name))
  if (opts.only !== undefined) {
    const unknown = opts.only.filter((n) => !SCENARIOS.some((s) => s.name === n))
    if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`)
  }
  const results: ScenarioResult[] = []
  const dead: string[] = []
  for (const cluster of [false, true]) {
    const group = chosen.filter((s) => (s.cluster === true) === cluster)
    if (group.length === 0) continue
    log(`starting Postgres, Redis, ${cluster ? 'a three-node NATS cluster' : 'NATS'}, the simulator and the services`)
    const t0 = Date.now()
    const stack = await startStack({ cluster, ...(opts.logLevel === undefined ? {} : { logLevel: opts.logLevel }), ...(opts.logDir === undefined ? {} : { logDir: opts.logDir }) })
    try {
      await untilReady(stack, 90_000)
      log(`stack ready in ${Date.now() - t0} ms; service logs in ${stack.logDir}`)
      for (const s of group) {
        log(`${s.name}: start`)
        const r = await s.run({ stack, timing: opts.timing, log })
        results.push(r)
        log(`${s.name}: ${r.balanced ? 'balanced' : 'NOT balanced'}${r.balanced ? '' : ': ' + [...r.problems, ...(r.books?.problems ?? [])].slice(0, 5).join('; ')}`)
        await opts.onResult?.(r)
      }
      dead.push(...stack.all().filter((p) => !p.alive || p.crashes.length > 0).map((p) => `${p.name}${p.crashes.length > 0 ? ` (exited on its own: ${p.crashes.map((c) => c.signal ?? `code ${c.code}`).join(', ')})` : ' (not running)'}`))
    } finally {
      await stack.cleanup.run()
    }
  }
  return { results, dead }
}
