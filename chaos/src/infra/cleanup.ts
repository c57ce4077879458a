import type { Teardown } from '@wxmp/testing'

type Step = () => unknown
type SyncStep = () => void

/**
 * Everything the suite starts, undone in reverse order. `run()` is the normal path; the synchronous steps also run
 * from the process's exit handler, so a crash, an uncaught error or Ctrl-C still stops Postgres, Redis, NATS and
 * every service, and removes their temporary folders: nothing outlives the suite.
 */
export class Cleanup implements Teardown {
  private readonly steps: Step[] = []
  private readonly syncSteps = new Set<SyncStep>()
  private done = false

  constructor () {
    installExitHooks(this)
  }

  teardown (fn: Step): void {
    this.steps.push(fn)
  }

  /** A last-resort synchronous undo (kill a child, remove a folder) for when the process is exiting. */
  onExit (fn: SyncStep): () => void {
    this.syncSteps.add(fn)
    return () => { this.syncSteps.delete(fn) }
  }

  async run (): Promise<void> {
    if (this.done) return
    this.done = true
    for (const step of this.steps.reverse()) {
      try { await step() } catch (err) { process.stderr.write(`chaos: cleanup step failed: ${(err as Error).message}\n`) }
    }
    this.runSync()
    live.delete(this)
  }

  runSync (): void {
    for (const fn of this.syncSteps) {
      try { fn() } catch {}
    }
    this.syncSteps.clear()
  }
}

const live = new Set<Cleanup>()
let hooked = false

function installExitHooks (c: Cleanup): void {
  live.add(c)
  if (hooked) return
  hooked = true
  process.once('exit', () => { for (const l of live) l.runSync() })
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      void Promise.allSettled([...live].map(async (l) => { await l.run() })).finally(() => process.exit(130))
    })
  }
}
