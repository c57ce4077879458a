import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { machineFacts, type LoadResult } from '../harness/index.js'
import { runGatewayBench } from '../gateway/bench.js'
import { runLoginBench } from '../login/bench.js'
import { runOrdersBench } from '../payments/bench.js'
import { runPoolBench } from '../postgres/bench.js'
import { runEventLoopBench } from '../eventloop/bench.js'
import { runSoak } from '../soak/bench.js'
import { throughputLatencyChart, type ChartRow } from './svg.js'

// pnpm bench [--smoke] [--duration 10] [--soak 200000] [--out DIR]
// Every benchmark, one after another (they would distort each other in parallel on 2 cores), then one
// report: bench/results/<date>.md with the SVG chart beside it, and <date>.json with every number.
const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    duration: { type: 'string', default: '10' },
    soak: { type: 'string', default: '200000' },
    out: { type: 'string', default: fileURLToPath(new URL('../../results', import.meta.url)) }
  }
})
const smoke = values.smoke
const d = smoke ? 2 : Number(values.duration)
const warm = smoke ? 1 : 3
const say = (line: string): void => { process.stdout.write(line + '\n') }
const section = (title: string): void => say(`\n== ${title} ==`)

const started = new Date()
const machine = machineFacts()
section('gateway: hello, NATS echo, authenticated /v1/users/me')
const gateway = await runGatewayBench({ durationS: d, warmupS: warm, connections: smoke ? 10 : 100, rounds: smoke ? 1 : 3, log: say })
section('WeChat login')
const login = await runLoginBench({ durationS: d, warmupS: warm, connections: smoke ? 10 : 50, users: smoke ? 100 : 2000, log: say })
section('order creation')
const orders = await runOrdersBench({ durationS: d, warmupS: warm, connections: smoke ? 10 : 50, rounds: smoke ? 1 : 3, log: say })
section('Postgres: pooled vs connection per request')
const pool = await runPoolBench({ durationS: d, warmupS: warm, connections: smoke ? 10 : 50, log: say })
section('event loop while passwords hash')
const loop = await runEventLoopBench({ durationS: smoke ? 2 : 5, connections: 4, log: say })
section('soak')
const soak = await runSoak({ requests: smoke ? 2000 : Number(values.soak), connections: smoke ? 10 : 50, log: say })

// The production CPU per request targets: the processes a deployment runs, not the load generator or the simulator.
const TARGET_MS = { authenticated: 0.45, login: 1.5, orders: 2.5 }
const rows: Array<{ name: string, result: LoadResult, baseline?: string, cpuMs?: number, cpuTargetMs?: number }> = [
  { name: 'Fastify hello (TLS)', result: gateway.hello },
  { name: 'gateway -> NATS echo', result: gateway.echo, cpuMs: gateway.productionCpu.echo },
  { name: 'authenticated GET /v1/users/me', result: gateway.authenticated, baseline: 'echo', cpuMs: gateway.productionCpu.authenticated, cpuTargetMs: TARGET_MS.authenticated },
  { name: 'WeChat login', result: login.login, baseline: 'echo (login run)', cpuMs: login.productionCpuPerLogin, cpuTargetMs: TARGET_MS.login },
  { name: 'order creation', result: orders.orders, baseline: 'echo (orders run)', cpuMs: orders.productionCpuPerOrder, cpuTargetMs: TARGET_MS.orders },
  { name: 'Postgres read, pooled', result: pool.pooled },
  { name: 'Postgres read, connection per request', result: pool.unpooled, baseline: 'pooled' },
  { name: `soak (${soak.load.requests} requests)`, result: soak.load }
]
const chart: ChartRow[] = rows.map((r) => ({
  name: r.name,
  rps: r.result.rps,
  p99: r.result.p99,
  ...(r.cpuMs === undefined ? {} : { cpuMs: r.cpuMs }),
  ...(r.cpuTargetMs === undefined ? {} : { cpuTargetMs: r.cpuTargetMs })
}))
const verdict = (ms: number, target: number): string => `${ms.toFixed(2)} ms (target ≤ ${target}: ${ms <= target ? 'met' : 'missed'})`
const stamp = started.toISOString().slice(0, 19).replace(/[:T]/g, '-')
const name = smoke ? `smoke-${stamp}` : stamp
const svg = throughputLatencyChart(chart, `wxmp benchmarks, ${machine.cpus} cores, Node ${machine.node}, ${started.toISOString().slice(0, 10)}`)
const json = { started: started.toISOString(), smoke, machine, gateway, login, orders, pool, eventLoop: loop, soak }
const fmt = (r: LoadResult): string => `${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.non2xx}`
const md = [
  `# wxmp benchmark report ${started.toISOString()}${smoke ? ' (smoke: a few seconds each, numbers not meaningful)' : ''}`,
  '',
  `Machine: ${Object.entries(machine).map(([k, v]) => `${k} ${v}`).join(', ')}. Every server is a process of its own and the load`,
  'generator (autocannon) another, all on this machine, so the generator takes CPU from the servers too. Rate limits stay in the',
  'path, raised by RATE_LIMIT_MAX_SCALE because one address sends everything.',
  '',
  `![throughput and latency](${name}.svg)`,
  '',
  '| scenario | req/s | p50 ms | p99 ms | errors | non-2xx |',
  '| --- | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.name} | ${fmt(r.result)} |`),
  '',
  '## Production CPU per request (gateway, services, nats-server, redis-server, postgres; not the load generator or the simulator)',
  `- authenticated GET /v1/users/me: **${verdict(gateway.productionCpu.authenticated, TARGET_MS.authenticated)}**; the echo alone ${gateway.productionCpu.echo.toFixed(2)} ms`,
  `- WeChat login, returning user: **${verdict(login.productionCpuPerLogin, TARGET_MS.login)}**`,
  `- order creation, new Idempotency-Key: **${verdict(orders.productionCpuPerOrder, TARGET_MS.orders)}**; ${orders.postgresTransactionsPerOrder.toFixed(2)} Postgres transactions per order`,
  '',
  '## Ratios (same run)',
  `- authenticated /v1/users/me over the bare NATS echo: **${gateway.authOverEcho.toFixed(2)}** (target ≥ 0.60; p99 ${gateway.authenticated.p99} ms, target < 40 ms at 100 connections)`,
  `- WeChat logins over the echo measured in the login run: **${login.loginOverEcho.toFixed(2)}** (${Math.round(login.login.rps)} logins/s; target 1,000/s)`,
  `- orders over the echo measured in the orders run: **${orders.ordersOverEcho.toFixed(2)}** (${Math.round(orders.orders.rps)} orders/s, ${Math.round(orders.ordersPerSecondWithoutSimulator)}/s without the simulator's own CPU; target 500/s)`,
  `- pooled over per-request connections: **${pool.pooledOverUnpooled.toFixed(1)}x**`,
  '',
  '## Gateway', '```', gateway.text, '```',
  '## WeChat login', '```', login.text, '```',
  '## Order creation', '```', orders.text, '```',
  '## Postgres pooling', '```', pool.text, '```',
  '## Event loop while passwords hash', '```', loop.text, '```',
  '## Soak', '```', soak.text, '```'
].join('\n')
mkdirSync(values.out, { recursive: true })
writeFileSync(`${values.out}/${name}.md`, md + '\n')
writeFileSync(`${values.out}/${name}.json`, JSON.stringify(json, null, 2) + '\n')
writeFileSync(`${values.out}/${name}.svg`, svg + '\n')
say(`\nreport: ${values.out}/${name}.md (+ .json, .svg)`)
