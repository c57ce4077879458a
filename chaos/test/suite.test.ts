import t from 'tap'
import { runSuite } from '../src/suite.js'
import { SHORT } from '../src/scenarios/context.js'
import { table } from '../src/report.js'

// The shortened suite: every scenario, with seconds of load around each fault. Durations are printed, never
// asserted; what is asserted is the books.
t.test('every scenario, briefly: faults and bad input leave the books balanced and every process alive', async (t) => {
  const { results, dead } = await runSuite({
    timing: SHORT,
    log: (line) => { t.comment(line) },
    onResult: (r) => {
      t.test(r.name, async (t) => {
        t.ok(r.requests > 0, `${r.requests} requests`)
        t.same([...r.problems, ...(r.books?.problems ?? [])], [], 'nothing lost, nothing doubled, every error an envelope')
        if (r.books !== undefined) {
          t.ok(r.books.orders > 0, `orders were placed (${r.books.orders}, ${r.books.paid} paid)`)
          t.equal(r.books.events, r.books.paid, 'one payment.succeeded event per paid order')
          t.equal(r.books.uploads, r.books.shipped, `one shipping upload per order reported (${r.books.shipped} of ${r.books.virtualPaid} paid virtual orders)`)
        }
        t.ok(r.balanced, 'books balanced')
      })
    }
  })
  t.comment('\n' + table(results))
  t.same(dead, [], 'every process is still alive at the end')
})
