import { checkBooks } from '../books.js'
import { Load, type LoadOptions } from '../load.js'
import { errorsByStatus, recoveryMs, type ScenarioResult } from '../report.js'
import { untilReady } from '../stack.js'
import { sleep, type ScenarioContext } from './context.js'

export interface FaultSpec {
  name: string
  fault: string
  /** Starts the fault; returns when it is in place. */
  inject: (ctx: ScenarioContext) => Promise<void>
  /** Ends it; returns when the faulted part is back (a server accepting connections again). */
  recover: (ctx: ScenarioContext) => Promise<void>
  /** The fault is a moment, not a window (a process killed): recovery is measured from the injection. */
  instant?: boolean
  /** Undone after the books are checked (a killed replica started again), so the next scenario starts whole. */
  restore?: (ctx: ScenarioContext) => Promise<void>
  load?: Partial<LoadOptions>
  /** Lines for the report about what the fault hit (which node was killed). */
  notes?: (ctx: ScenarioContext) => string[]
  /** Runs alongside the load during the fault window (e.g. redelivering notifications). */
  during?: (ctx: ScenarioContext, load: Load) => Promise<void>
}

/** The kinds of request whose first success after the fault marks recovery. */
const KINDS = ['login', 'me', 'order']

/** Load, fault, recovery, more load, then the books: the shape every fault scenario shares. */
export async function runFault (ctx: ScenarioContext, spec: FaultSpec): Promise<ScenarioResult> {
  const { timing } = ctx
  const crashesBefore = new Map(ctx.stack.all().map((p) => [p, p.crashes.length]))
  const load = new Load(ctx.stack, { vus: timing.vus, settleMs: timing.settleMs, ...spec.load })
  load.start()
  await sleep(timing.warmupMs)
  const faultStart = Date.now()
  ctx.log(`${spec.name}: fault`)
  await spec.inject(ctx)
  const during = spec.during?.(ctx, load)
  if (!spec.instant) await sleep(timing.faultMs)
  await spec.recover(ctx)
  const faultEnd = Date.now()
  ctx.log(`${spec.name}: recovered after ${faultEnd - faultStart} ms of fault`)
  await sleep(timing.afterMs)
  // Recovery is waited for, not assumed: the load goes on until each kind of request has succeeded again (bounded),
  // which a kind sent rarely (a login every few iterations) may need longer than the after-fault window for.
  const recoverBy = Date.now() + timing.settleMs
  while (recoveryMs(load.outcomes, faultEnd, KINDS) === null && Date.now() < recoverBy) await sleep(250)
  await during
  await load.stop()
  ctx.log(`${spec.name}: load stopped; checking the books`)
  const books = await checkBooks(ctx.stack, load, timing.settleMs)
  const problems: string[] = []
  for (const p of ctx.stack.all()) {
    const crashes = p.crashes.slice(crashesBefore.get(p) ?? 0)
    if (crashes.length > 0) problems.push(`${p.name} exited on its own (${crashes.map((c) => c.signal ?? `code ${c.code}`).join(', ')})`)
  }
  // A token whose logout answered must never be accepted again (a 503 while the view is stale is a refusal too).
  const leaked = load.revokedProbes.filter((p) => p.status !== undefined && p.status >= 200 && p.status < 300)
  if (leaked.length > 0) problems.push(`${leaked.length} of ${load.revokedProbes.length} logged-out tokens accepted after their logout answered (up to ${Math.max(...leaked.map((p) => p.sentAt - p.answeredAt))} ms later)`)
  if (spec.restore !== undefined) await spec.restore(ctx)
  // A process that died on its own is a finding, reported above; it is started again so the next scenario runs whole.
  for (const p of ctx.stack.all()) if (!p.alive) await p.start()
  await untilReady(ctx.stack)
  const recovery = recoveryMs(load.outcomes, faultEnd, KINDS)
  if (recovery === null) problems.push('some kind of request never succeeded after the fault ended')
  const inFault = load.outcomes.filter((o) => o.start >= faultStart && o.start < faultEnd)
  return {
    name: spec.name,
    fault: spec.fault,
    requests: load.outcomes.length,
    errors: errorsByStatus(load.outcomes),
    recoveryMs: recovery,
    books,
    problems,
    notes: [
      `${load.outcomes.length} requests (${inFault.length} sent during the fault), ${books.intents} order intents, ${books.unresolved} left unresolved, ${load.intents.filter((i) => i.attempts > 1).length} sent more than once with the same key`,
      `${books.orders} orders, ${books.paid} paid, ${books.events} payment.succeeded events, ${books.notifications} notification deliveries`,
      `${books.virtualPaid} paid virtual orders, ${books.shipped} reported to WeChat's shipping management, ${books.uploads} uploads carried out by the platform, ${books.resolvedByGetOrder} uncertain uploads found recorded by get_order`,
      ...(load.revokedProbes.length > 0 ? [`${load.outcomes.filter((o) => o.kind === 'logout' && o.status === 200).length} logouts answered, ${load.revokedProbes.length} requests with their tokens afterwards, ${leaked.length} accepted`] : []),
      ...(spec.notes?.(ctx) ?? []),
      ...(load.payFailures.length > 0 ? [`${load.payFailures.length} payments refused by the simulator: ${load.payFailures.slice(0, 3).join('; ')}`] : [])
    ],
    balanced: books.balanced && problems.length === 0
  }
}
