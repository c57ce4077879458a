import t from 'tap'
import { runGatewayBench } from '../src/gateway/bench.js'

// A few seconds per scenario: proves the harness and every measured path work end to end
// (all answers 2xx, nothing dropped). It asserts no duration or rate: those are the benchmark's job.
t.test('the gateway benchmark runs every scenario to completion without errors', async (t) => {
  const r = await runGatewayBench({ durationS: 2, warmupS: 1, connections: 10, log: (line) => t.comment(line) })
  for (const [name, result] of [['hello', r.hello], ['echo', r.echo], [r.authenticatedName, r.authenticated]] as const) {
    t.ok(result.requests > 0, `${name}: requests were served`)
    t.equal(result.errors, 0, `${name}: no connection errors or timeouts`)
    t.equal(result.non2xx, 0, `${name}: every answer 2xx`)
  }
  t.ok(r.authOverEcho > 0 && Number.isFinite(r.authOverEcho), 'ratios are computed from the same run')
  t.match(r.text, /authenticated \/ echo/)
  t.equal(r.machine.cpus, (await import('node:os')).cpus().length)
})
