import t from 'tap'
import { runLoginBench } from '../src/login/bench.js'

// A few seconds each: proves the login benchmark's path end to end (every login answered 200, each code
// used once). No duration or rate is asserted: those are the benchmark's job.
t.test('the login benchmark runs to completion with every login answered', async (t) => {
  const r = await runLoginBench({ durationS: 2, warmupS: 1, connections: 10, users: 100, log: (line) => t.comment(line) })
  t.ok(r.login.requests > 0, 'logins were served')
  t.equal(r.login.errors, 0, 'no connection errors or timeouts')
  t.equal(r.login.non2xx, 0, 'every login answered 2xx: no code was refused as used')
  t.equal(r.echo.non2xx, 0)
  t.ok(Number.isFinite(r.loginOverEcho) && r.loginOverEcho > 0, 'the ratio comes from the same run')
})
