import t from 'tap'
import { runOrdersBench } from '../src/payments/bench.js'

// A few seconds per scenario: proves every process of the order benchmark starts and every order is created
// (201, nothing dropped). It asserts no rate: that is the benchmark's job.
t.test('the order benchmark creates an order for every request, each with a new key', async (t) => {
  const r = await runOrdersBench({ durationS: 2, warmupS: 1, connections: 10, log: (line) => t.comment(line) })
  t.ok(r.orders.requests > 0, 'orders were placed')
  t.equal(r.orders.errors, 0, 'no connection errors or timeouts')
  t.same(Object.keys(r.orders.statusCodes), ['201'], 'every answer a new order: no 409 or replay')
  t.equal(r.echo.non2xx, 0)
  t.ok(r.ordersOverEcho > 0 && Number.isFinite(r.ordersOverEcho), 'the ratio comes from the same run')
  t.ok((r.cpuPerOrder['payment service'] ?? 0) > 0, 'CPU per order is attributed to the payment process')
})
