import pg from 'pg'
import { readFileSync } from 'node:fs'
import { connect, nkeyAuthenticator } from '@nats-io/transport-node'
import { jetstream } from '@nats-io/jetstream'
import { EVENTS_STREAM, EventSubjects, prefixedName } from '@wxmp/contracts'
import { testNatsSeedFile } from '@wxmp/testing'
import { simCall, type Outcome } from './client.js'
import type { Load } from './load.js'
import type { Stack } from './stack.js'

/** After a scenario: does every order, payment and event add up? */
export interface Books {
  balanced: boolean
  /** What did not add up, one line each. */
  problems: string[]
  intents: number
  /** Intents whose key never got a final answer during the scenario (the key may still hold an order). */
  unresolved: number
  orders: number
  paid: number
  events: number
  /** Notifications the simulator sent for these orders, counting duplicates and retries. */
  notifications: number
  /** Paid orders reported to WeChat's shipping management (SHIPPED or later here, recorded at the platform). */
  shipped: number
  /** Paid virtual-goods orders: the ones reported automatically, with no human step. */
  virtualPaid: number
  /** upload_shipping_info calls the platform carried out for these orders (one per shipped order when balanced). */
  uploads: number
  /** Shipped orders whose upload's answer was lost and that get_order found recorded (not uploaded again). */
  resolvedByGetOrder: number
}

/** Money taken: paid, shipped and settled, or being refunded. */
const PAID_STATES = new Set(['PAID', 'SHIPPED', 'CONFIRMED', 'SETTLED', 'REFUNDING', 'REFUNDED', 'PARTIALLY_REFUNDED'])
const SHIPPED_STATES = new Set(['SHIPPED', 'CONFIRMED', 'SETTLED'])

interface OrderRow { id: string, user_id: string, out_trade_no: string, status: string, delivery: string, transaction_id: string | null, shipment: string | null }

/**
 * Every events.payment.succeeded on the stack's EVENTS stream, read with an ordered consumer. On a cluster a node
 * that just rejoined may still be catching up, so a read that times out is tried again (bounded).
 */
export async function paymentEvents (stack: Stack, subject: string = EventSubjects.paymentSucceeded): Promise<Array<{ id: string, orderId: string, userId: string }>> {
  const deadline = Date.now() + 60_000
  for (;;) {
    try {
      return await readPaymentEvents(stack, subject)
    } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  }
}

async function readPaymentEvents (stack: Stack, subject: string): Promise<Array<{ id: string, orderId: string, userId: string }>> {
  const servers = stack.natsNodes.length > 0 ? stack.natsNodes.map((n) => n.url) : [stack.nats.url]
  // As the test server's operator, which may read streams and nothing else of the services'.
  const seed = new TextEncoder().encode(readFileSync(testNatsSeedFile('operator'), 'utf8').trim())
  const nc = await connect({ servers, name: 'chaos-books', authenticator: nkeyAuthenticator(seed), inboxPrefix: `_INBOX.${stack.prefix}operator` })
  try {
    const js = jetstream(nc)
    const consumer = await js.consumers.get(prefixedName(stack.prefix, EVENTS_STREAM.name), { filter_subjects: stack.prefix + subject })
    const events: Array<{ id: string, orderId: string, userId: string }> = []
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 500, expires: 1000 })
      let n = 0
      let pending = 1
      for await (const m of batch) {
        events.push(m.json())
        pending = m.info.pending
        n++
      }
      if (n === 0 || pending === 0) return events
    }
  } finally {
    await nc.close()
  }
}

interface PaymentRows {
  orders: OrderRow[]
  paidTransitions: Map<string, number>
  shippedTransitions: Map<string, number>
  resolvedByGetOrder: number
  keys: Map<string, string | null>
  allOutTradeNos: Set<string>
}

async function paymentRows (stack: Stack, userIds: string[]): Promise<PaymentRows> {
  const client = new pg.Client({ connectionString: stack.paymentDb })
  await client.connect()
  try {
    const { rows: orders } = await client.query<OrderRow>(
      `SELECT o.id, o.user_id, o.out_trade_no, o.status, o.delivery, o.transaction_id, s.state AS shipment
         FROM orders o LEFT JOIN shipments s ON s.order_id = o.id WHERE o.user_id = ANY($1::uuid[])`, [userIds])
    const transitions = async (to: string): Promise<Map<string, number>> => {
      const { rows } = await client.query<{ order_id: string, n: number }>(
        `SELECT t.order_id, count(*)::int AS n FROM order_transitions t JOIN orders o ON o.id = t.order_id
          WHERE o.user_id = ANY($1::uuid[]) AND t.to_status = $2 GROUP BY t.order_id`, [userIds, to])
      return new Map(rows.map((r) => [r.order_id, r.n]))
    }
    const paidTransitions = await transitions('PAID')
    const shippedTransitions = await transitions('SHIPPED')
    const { rows: [byGetOrder] } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM order_transitions t JOIN orders o ON o.id = t.order_id
        WHERE o.user_id = ANY($1::uuid[]) AND t.to_status = 'SHIPPED' AND t.cause LIKE '%:get_order'`, [userIds])
    const { rows: keys } = await client.query<{ user_id: string, key: string, order_id: string | null }>(
      'SELECT user_id, key, order_id FROM idempotency_keys WHERE user_id = ANY($1::uuid[])', [userIds])
    const { rows: all } = await client.query<{ out_trade_no: string }>('SELECT out_trade_no FROM orders')
    return {
      orders,
      paidTransitions,
      shippedTransitions,
      resolvedByGetOrder: byGetOrder?.n ?? 0,
      keys: new Map(keys.map((k) => [`${k.user_id}/${k.key}`, k.order_id])),
      allOutTradeNos: new Set(all.map((r) => r.out_trade_no))
    }
  } finally {
    await client.end()
  }
}

/**
 * The requests themselves: every accepted request got an answer, and every error answer was the envelope.
 * (A request refused before it was accepted — connection refused — owes nothing.)
 */
export function requestProblems (outcomes: Outcome[]): string[] {
  const problems: string[] = []
  const vanished = outcomes.filter((o) => o.accepted && o.status === undefined)
  if (vanished.length > 0) problems.push(`${vanished.length} accepted requests got no answer (${summarize(vanished.map((o) => `${o.kind} ${o.error ?? ''}`))})`)
  const bare = outcomes.filter((o) => o.status !== undefined && o.status >= 400 && o.envelope !== true)
  if (bare.length > 0) problems.push(`${bare.length} error answers were not the envelope (${summarize(bare.map((o) => `${o.kind} ${o.status ?? ''}`))})`)
  return problems
}

function summarize (xs: string[]): string {
  const counts = new Map<string, number>()
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1)
  return [...counts].map(([k, n]) => `${k} x${n}`).join(', ')
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * Waits until every payment the simulator accepted has reached the books (a notification, a retry or the
 * reconciler settled it, and the outbox published its event), at most `settleMs`, then checks:
 * - no key made two orders, and every order belongs to a key (nothing charged twice, nothing made twice);
 * - every order paid at WeChat is PAID here, and nothing is PAID that WeChat did not take money for;
 * - one PENDING -> PAID transition per paid order, none for the others;
 * - exactly one events.payment.succeeded per paid order, none for the others;
 * - every out_trade_no WeChat saw a prepay for is an order here;
 * - every paid virtual order reported to the shipping platform exactly once (shippingProblems);
 * - every accepted request got an answer, and every error answer was the envelope.
 */
export async function checkBooks (stack: Stack, load: Load, settleMs = 60_000): Promise<Books> {
  const userIds = [...load.userIds]
  const paidIntents = load.intents.filter((i) => i.paid)
  const deadline = Date.now() + settleMs
  let rows = await paymentRows(stack, userIds)
  let events = await paymentEvents(stack)
  let shippedEvents = await paymentEvents(stack, EventSubjects.paymentShipped)
  // Paid, evented, and (virtual goods) reported to the platform with its events.payment.shipped out.
  const settled = (): boolean => {
    const byId = new Map(rows.orders.map((o) => [o.id, o]))
    const evented = new Set(events.map((e) => e.orderId))
    const shippedEvented = new Set(shippedEvents.map((e) => e.orderId))
    return paidIntents.every((i) => [...i.orderIds].every((id) => {
      const o = byId.get(id)
      if (o === undefined || !PAID_STATES.has(o.status) || !evented.has(id)) return false
      return o.delivery !== 'virtual' || (SHIPPED_STATES.has(o.status) && shippedEvented.has(id))
    }))
  }
  while (!settled() && Date.now() < deadline) {
    await sleep(500)
    rows = await paymentRows(stack, userIds)
    events = await paymentEvents(stack)
    shippedEvents = await paymentEvents(stack, EventSubjects.paymentShipped)
  }

  const problems: string[] = []
  const mine = new Set(userIds)
  events = events.filter((e) => mine.has(e.userId))
  const eventsPerOrder = new Map<string, number>()
  for (const e of events) eventsPerOrder.set(e.orderId, (eventsPerOrder.get(e.orderId) ?? 0) + 1)
  const ordersById = new Map(rows.orders.map((o) => [o.id, o]))
  const paidByClient = new Set(paidIntents.flatMap((i) => [...i.orderIds]))

  for (const i of load.intents) {
    if (i.orderIds.size > 1) problems.push(`key ${i.key} answered with ${i.orderIds.size} different orders`)
    if (i.outTradeNos.size > 1) problems.push(`key ${i.key} answered with ${i.outTradeNos.size} different out_trade_no`)
    for (const id of i.orderIds) if (!ordersById.has(id)) problems.push(`order ${id} was answered to the client but is not in the database`)
    const keyed = rows.keys.get(`${i.userId}/${i.key}`)
    if (i.resolved && keyed !== [...i.orderIds][0]) problems.push(`key ${i.key} is stored for order ${keyed ?? 'none'}, the client got ${[...i.orderIds][0] ?? ''}`)
  }
  const keyedOrders = new Map<string, number>()
  for (const orderId of rows.keys.values()) if (orderId !== null) keyedOrders.set(orderId, (keyedOrders.get(orderId) ?? 0) + 1)
  for (const o of rows.orders) {
    const n = keyedOrders.get(o.id) ?? 0
    if (n !== 1) problems.push(`order ${o.id} is linked from ${n} idempotency keys`)
    const paid = PAID_STATES.has(o.status)
    const transitions = rows.paidTransitions.get(o.id) ?? 0
    const evs = eventsPerOrder.get(o.id) ?? 0
    if (paid && transitions !== 1) problems.push(`order ${o.id} has ${transitions} PAID transitions`)
    if (!paid && transitions !== 0) problems.push(`order ${o.id} is ${o.status} with ${transitions} PAID transitions`)
    if (paid && evs !== 1) problems.push(`order ${o.id} is ${o.status} with ${evs} payment.succeeded events`)
    if (!paid && evs !== 0) problems.push(`order ${o.id} is ${o.status} with ${evs} payment.succeeded events`)
    if (paidByClient.has(o.id) && !paid) problems.push(`order ${o.id} was paid at WeChat but is ${o.status} here`)
    if (!paidByClient.has(o.id) && paid) problems.push(`order ${o.id} is ${o.status} though nobody paid it`)
  }
  for (const e of events) if (!ordersById.has(e.orderId)) problems.push(`event ${e.id} names order ${e.orderId}, which is not in the database`)

  const shipping = await shippingProblems(stack, rows, shippedEvents.filter((e) => mine.has(e.userId)), paidByClient)
  problems.push(...shipping.problems)

  const stats = await simCall(stack.simUrl, '/sim/stats')
  const prepay = (stats.body?.prepay ?? {}) as Record<string, number>
  const orphans = Object.keys(prepay).filter((no) => !rows.allOutTradeNos.has(no))
  if (orphans.length > 0) problems.push(`${orphans.length} out_trade_no prepaid at WeChat are not orders here (${orphans.slice(0, 3).join(', ')})`)
  const mineNos = new Set(rows.orders.map((o) => o.out_trade_no))
  const notifications = ((stats.body?.notifications ?? []) as Array<{ subject: string, attempts: number }>)
    .filter((n) => mineNos.has(n.subject)).reduce((sum, n) => sum + n.attempts, 0)

  problems.push(...requestProblems(load.outcomes))
  return {
    balanced: problems.length === 0,
    problems,
    intents: load.intents.length,
    unresolved: load.intents.filter((i) => !i.resolved && i.refused === undefined).length,
    orders: rows.orders.length,
    paid: rows.orders.filter((o) => PAID_STATES.has(o.status)).length,
    events: events.length,
    notifications,
    shipped: rows.orders.filter((o) => SHIPPED_STATES.has(o.status)).length,
    virtualPaid: rows.orders.filter((o) => o.delivery === 'virtual' && paidByClient.has(o.id)).length,
    uploads: shipping.uploads,
    resolvedByGetOrder: rows.resolvedByGetOrder
  }
}

/**
 * Shipping management (发货信息管理), from both sides:
 * - every paid virtual order is SHIPPED (or later) here with its shipment `reported`, and recorded at the platform
 *   (order_state 2 or later): reported automatically, through faults and lost answers;
 * - the platform carried out at most one upload_shipping_info per payment (a second would spend the one
 *   modification WeChat allows), and exactly one for each order shipped here;
 * - one SHIPPED transition and one events.payment.shipped per shipped order, none for the others.
 */
async function shippingProblems (stack: Stack, rows: PaymentRows, shippedEvents: Array<{ orderId: string }>, paidByClient: Set<string>): Promise<{ problems: string[], uploads: number }> {
  const problems: string[] = []
  const stats = await simCall(stack.simUrl, '/sim/stats')
  const uploadsByTx = (stats.body?.shippingUploads ?? {}) as Record<string, number>
  const platform = await simCall(stack.simUrl, '/sim/shipping')
  const stateByTx = new Map(((platform.body?.payments ?? []) as Array<{ transactionId: string, orderState: number }>).map((p) => [p.transactionId, p.orderState]))
  const eventsPerOrder = new Map<string, number>()
  for (const e of shippedEvents) eventsPerOrder.set(e.orderId, (eventsPerOrder.get(e.orderId) ?? 0) + 1)
  let uploads = 0
  for (const o of rows.orders) {
    const shipped = SHIPPED_STATES.has(o.status)
    const n = o.transaction_id === null ? 0 : uploadsByTx[o.transaction_id] ?? 0
    uploads += n
    if (n > 1) problems.push(`order ${o.id} was uploaded to the shipping platform ${n} times`)
    if (o.delivery === 'virtual' && paidByClient.has(o.id) && !shipped) problems.push(`virtual order ${o.id} is ${o.status} (shipment ${o.shipment ?? 'none'}): never reported`)
    if (shipped) {
      if (o.shipment !== 'reported') problems.push(`order ${o.id} is ${o.status} but its shipment is ${o.shipment ?? 'missing'}`)
      if (n !== 1) problems.push(`order ${o.id} is ${o.status} with ${n} uploads at the platform`)
      const state = o.transaction_id === null ? undefined : stateByTx.get(o.transaction_id)
      if (state === undefined || state < 2) problems.push(`order ${o.id} is ${o.status} here but order_state ${state ?? 'unknown'} at the platform`)
    }
    const transitions = rows.shippedTransitions.get(o.id) ?? 0
    if (transitions !== (shipped ? 1 : 0)) problems.push(`order ${o.id} is ${o.status} with ${transitions} SHIPPED transitions`)
    const evs = eventsPerOrder.get(o.id) ?? 0
    if (evs !== (shipped ? 1 : 0)) problems.push(`order ${o.id} is ${o.status} with ${evs} payment.shipped events`)
  }
  return { problems, uploads }
}
