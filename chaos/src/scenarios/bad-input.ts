import { randomUUID } from 'node:crypto'
import { isEnvelope, request, simCall, type Outcome } from '../client.js'
import { bytesOf, casesFor, operationsOf, type Case, type Operation } from '../corpus.js'
import { rawRequest } from '../raw.js'
import { errorsByStatus, type ScenarioResult } from '../report.js'
import type { Stack } from '../stack.js'
import type { ScenarioContext } from './context.js'

/** Probes and the document itself are not in /docs/json; they face the internet all the same. */
const HIDDEN: Operation[] = ['/healthz', '/readyz', '/docs/json', '/v1/no-such-route'].map((path) => ({
  method: 'GET', path, auth: 'public', pathParams: [], query: [], headers: [], pathMethods: ['GET']
}))

/** Cases that hold a connection until the client gives up: run once, not once per route. */
const ONCE = new Set(['Content-Length larger than the body'])

/** WeChat Pay's callback answers in WeChat's own shape, `{code: "FAIL", message}`, which is its contract. */
const NOTIFY = 'POST /v1/payments/wechat/notify'
const isWechatAnswer = (body: unknown): boolean =>
  body !== null && typeof body === 'object' && (body as { code?: unknown }).code === 'FAIL' && typeof (body as { message?: unknown }).message === 'string'

/**
 * The message push routes answer WeChat in plain text, its contract: `success` or `echostr`, and on a refusal the
 * error code alone (`WECHAT_PUSH_SIGNATURE_INVALID`), which WeChat only logs.
 */
const PUSH = new Set(['GET /v1/wechat/push', 'POST /v1/wechat/push'])
const isPushAnswer = (body: string): boolean => /^[A-Z][A-Z0-9_]*$/.test(body)

export interface CaseResult { c: Case, status?: number, error?: string, accepted: boolean, body: string, problem?: string }

/** Judges one answer: no 5xx, an answer for every accepted request, the envelope on every error, a 4xx where the input is wrong. */
export function judge (c: Case, status: number | undefined, body: string, accepted: boolean, error?: string): string | undefined {
  if (status === undefined) return accepted ? `no answer (${error ?? 'closed'})` : undefined
  if (status >= 500) return `${status}`
  let parsed: unknown
  try { parsed = JSON.parse(body) } catch { parsed = undefined }
  if (status >= 400 && !isEnvelope(parsed) && !(c.op === NOTIFY && isWechatAnswer(parsed)) && !(PUSH.has(c.op) && isPushAnswer(body))) return `${status} without the envelope: ${body.slice(0, 120)}`
  if (c.expect === 'reject' && status < 400) return `${status}: accepted input that must be refused`
  return undefined
}

async function signIn (stack: Stack): Promise<{ token: string, orderId: string }> {
  const code = await simCall(stack.simUrl, '/sim/wx-login', { openid: `oCorpus_${randomUUID().slice(0, 8)}` })
  const login = await request(stack, { method: 'POST', path: '/v1/auth/wechat/login', kind: 'login', body: { code: code.body.code } })
  const token = (login.body as { accessToken?: string } | undefined)?.accessToken
  if (token === undefined) throw new Error(`the corpus user could not sign in: ${login.status ?? login.error ?? ''} ${JSON.stringify(login.body)}`)
  const order = await request(stack, { method: 'POST', path: '/v1/payments/orders', kind: 'order', headers: { authorization: `Bearer ${token}`, 'idempotency-key': randomUUID() }, body: { productId: 'latte', quantity: 1 } })
  const o = order.body as { id?: string, outTradeNo?: string } | undefined
  if (o?.id === undefined || o.outTradeNo === undefined) throw new Error(`the corpus user could not order: ${order.status ?? order.error ?? ''} ${JSON.stringify(order.body)}`)
  await simCall(stack.simUrl, '/sim/pay', { outTradeNo: o.outTradeNo, result: 'SUCCESS' })
  return { token, orderId: o.id }
}

/** After the corpus, the stack still does real work: a login, a profile read and an order. */
async function stillServes (stack: Stack): Promise<string | undefined> {
  try {
    const { token } = await signIn(stack)
    const me = await request(stack, { method: 'GET', path: '/v1/users/me', kind: 'me', headers: { authorization: `Bearer ${token}` } })
    return me.status === 200 ? undefined : `GET /v1/users/me answered ${me.status ?? me.error ?? ''} after the corpus`
  } catch (err) {
    return `the stack no longer serves after the corpus: ${(err as Error).message}`
  }
}

async function pool<T, R> (items: T[], width: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i] as T)
    }
  }))
  return out
}

/**
 * Every public route (from the gateway's own OpenAPI document, so new routes are covered without editing this
 * file) gets the corpus: wrong types, missing and unknown fields, huge and deeply nested JSON, invalid UTF-8,
 * header injection, oversized headers, SQL and NoSQL injection, path traversal, negative and huge amounts and
 * quantities, forged tokens, odd methods and request lines. Expect 4xx envelopes, no 5xx, no crash.
 */
export const badInput = {
  name: 'bad-input',
  async run (ctx: ScenarioContext): Promise<ScenarioResult> {
    const { stack } = ctx
    const crashesBefore = new Map(stack.all().map((p) => [p, p.crashes.length]))
    const docs = await request(stack, { method: 'GET', path: '/docs/json', kind: 'docs' })
    if (docs.status !== 200) throw new Error(`GET /docs/json answered ${docs.status ?? docs.error ?? ''}`)
    const ops = [...operationsOf(docs.body as Record<string, unknown>), ...HIDDEN]
    const { token, orderId } = await signIn(stack)
    const seen = new Set<string>()
    const cases = ops.flatMap((op) => casesFor(op, { id: orderId })).filter((c) => {
      if (!ONCE.has(c.name)) return true
      if (seen.has(c.name)) return false
      seen.add(c.name)
      return true
    })
    // Logging out would end the corpus user's session halfway through; those routes get the token cases only.
    const usable = cases.filter((c) => !(c.op.includes('/logout') && (c.auth === undefined || c.auth === 'valid')))
    ctx.log(`bad-input: ${ops.length} operations, ${usable.length} cases`)
    const host = new URL(stack.url).host
    const results = await pool(usable, 6, async (c): Promise<CaseResult> => {
      const a = await rawRequest(stack.url, stack.ca, bytesOf(c, host, `Bearer ${token}`), c.incomplete === true ? 5000 : 20_000)
      if (c.incomplete === true) a.accepted = false
      const problem = judge(c, a.status, a.body, a.accepted, a.error)
      return { c, accepted: a.accepted, body: a.body, ...(a.status === undefined ? {} : { status: a.status }), ...(a.error === undefined ? {} : { error: a.error }), ...(problem === undefined ? {} : { problem }) }
    })
    const problems: string[] = []
    const failed = results.filter((r) => r.problem !== undefined)
    const grouped = new Map<string, string[]>()
    for (const r of failed) {
      const k = `${r.c.category}/${r.c.name}: ${r.problem ?? ''}`
      grouped.set(k, [...(grouped.get(k) ?? []), r.c.op])
    }
    for (const [k, opsHit] of grouped) problems.push(`${k} (${opsHit.length} route${opsHit.length === 1 ? '' : 's'}: ${opsHit.slice(0, 3).join(', ')}${opsHit.length > 3 ? ', ...' : ''})`)
    for (const p of stack.all()) {
      const crashes = p.crashes.slice(crashesBefore.get(p) ?? 0)
      if (!p.alive || crashes.length > 0) problems.push(`${p.name} died during the corpus`)
    }
    const serving = await stillServes(stack)
    if (serving !== undefined) problems.push(serving)
    const outcomes: Outcome[] = results.map((r) => ({
      kind: r.c.category,
      method: r.c.method,
      path: r.c.target,
      start: 0,
      end: 0,
      accepted: r.accepted,
      ...(r.status === undefined ? {} : { status: r.status }),
      ...(r.error === undefined ? {} : { error: r.error })
    }))
    const byCategory = new Map<string, number>()
    for (const r of results) byCategory.set(r.c.category, (byCategory.get(r.c.category) ?? 0) + 1)
    const fiveXx = results.filter((r) => r.status !== undefined && r.status >= 500).length
    return {
      name: 'bad-input',
      fault: `The corpus against ${ops.length} operations (every path and method of /docs/json, plus the probes and an unknown route), sent as raw bytes over TLS so nothing is cleaned up on the way.`,
      requests: results.length,
      errors: errorsByStatus(outcomes),
      books: undefined,
      problems,
      notes: [
        `${results.length} cases: ${[...byCategory].map(([k, n]) => `${k} ${n}`).join(', ')}`,
        `${fiveXx} answers were 5xx; ${results.filter((r) => r.c.expect === 'reject').length} cases had to be refused with a 4xx`,
        `routes: ${ops.map((o) => `${o.method} ${o.path}`).join(', ')}`
      ],
      balanced: problems.length === 0
    }
  }
}
