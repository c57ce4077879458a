import t from 'tap'
import { runPoolBench } from '../src/postgres/bench.js'
import { runEventLoopBench } from '../src/eventloop/bench.js'
import { runSoak } from '../src/soak/bench.js'
import { throughputLatencyChart } from '../src/report/svg.js'

// The smaller benchmarks of `pnpm bench`, a few seconds each: every path answers, the numbers are produced.
// Rates and durations are the benchmark's job and never asserted here.

t.test('pooled and per-request Postgres connections both serve every request', async (t) => {
  const r = await runPoolBench({ durationS: 1, warmupS: 0, connections: 5, log: (l) => t.comment(l) })
  for (const res of [r.pooled, r.unpooled]) {
    t.ok(res.requests > 0)
    t.equal(res.errors + res.non2xx, 0, 'no errors')
  }
  t.ok(Number.isFinite(r.pooledOverUnpooled))
})

t.test('the event-loop benchmark measures the server idle and under both kinds of hashing', async (t) => {
  // A low bcrypt cost, so verifications complete inside the short window however busy the machine is.
  const r = await runEventLoopBench({ durationS: 1, connections: 2, bcryptCost: 4, log: (l) => t.comment(l) })
  for (const d of [r.idle, r.async.delay, r.sync.delay]) t.ok(Number.isFinite(d.p99) && d.max >= d.p50)
  t.ok(r.async.load.requests > 0 && r.sync.load.requests > 0, 'verifications ran in both modes')
  t.equal(r.async.load.non2xx + r.sync.load.non2xx, 0)
})

t.test('the soak runs through the real stack and reads every service\'s memory after a GC', async (t) => {
  const r = await runSoak({ requests: 500, connections: 5, log: (l) => t.comment(l) })
  t.equal(r.load.requests, 500, 'exactly the requested number of requests')
  t.equal(r.load.errors + r.load.non2xx, 0, 'all answered 2xx')
  t.same(r.memory.map((m) => m.service), ['gateway', 'auth', 'user'])
  for (const m of r.memory) t.ok(m.baseline.heapUsed > 0 && m.afterGc.heapUsed > 0 && m.peak.rss > 0, `${m.service}: memory read`)
})

t.test('the chart is a well-formed SVG with a bar per scenario', async (t) => {
  const svg = throughputLatencyChart([{ name: 'a <b>', rps: 100, p99: 5 }, { name: 'c', rps: 50, p99: 10 }], 'title & more')
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
  t.equal((svg.match(/<rect /g) ?? []).length, 1 + 2 * 2, 'a background and two bars per row')
  t.match(svg, /a &lt;b&gt;/, 'labels are escaped')
  t.match(svg, /title &amp; more/)
  t.notMatch(svg, /production CPU/, 'no CPU column when no row measured it')
})

t.test('the chart draws production CPU per request against its target, red when missed', async (t) => {
  const svg = throughputLatencyChart([
    { name: 'met', rps: 100, p99: 5, cpuMs: 0.4, cpuTargetMs: 0.45 },
    { name: 'missed', rps: 50, p99: 10, cpuMs: 3, cpuTargetMs: 1.5 },
    { name: 'no cpu', rps: 80, p99: 7 }
  ], 'cpu')
  t.match(svg, /production CPU ms\/request/)
  t.equal((svg.match(/<rect /g) ?? []).length, 1 + 3 * 2 + 2, 'a CPU bar for each row that measured it')
  t.equal((svg.match(/<line /g) ?? []).length, 2, 'a target tick per target')
  t.match(svg, /fill="#3a9a4a"[^\n]*\n[^\n]*0\.40 \/ 0\.45/, 'under its target: green, value and target printed')
  t.match(svg, /fill="#c0392b"[^\n]*\n[^\n]*3\.00 \/ 1\.5/, 'over its target: red')
})
