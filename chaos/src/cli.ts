import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runSuite, SCENARIOS } from './suite.js'
import { FULL, SHORT } from './scenarios/context.js'
import { markdown, table } from './report.js'

const { values } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    only: { type: 'string' },
    'log-level': { type: 'string' },
    'log-dir': { type: 'string' },
    list: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false }
  }
})

if (values.help === true || values.list === true) {
  process.stdout.write([
    'usage: chaos [--full] [--only name,name] [--log-level info] [--log-dir DIR]',
    '  --full       longer load and fault windows, more users; writes bench/results/chaos-<date>.md',
    '  --only       run only these scenarios',
    '',
    'scenarios: ' + SCENARIOS.map((s) => s.name).join(', '),
    ''
  ].join('\n'))
  process.exit(0)
}

const full = values.full === true
const timing = full ? FULL : SHORT
const started = new Date()
const { results, dead } = await runSuite({
  timing,
  ...(values.only === undefined ? {} : { only: values.only.split(',').map((s) => s.trim()).filter((s) => s !== '') }),
  ...(values['log-level'] === undefined ? {} : { logLevel: values['log-level'] }),
  ...(values['log-dir'] === undefined ? {} : { logDir: values['log-dir'] })
})
const seconds = Math.round((Date.now() - started.getTime()) / 1000)

process.stdout.write('\n' + table(results) + '\n\n')
for (const r of results) {
  const problems = [...r.problems, ...(r.books?.problems ?? [])]
  if (problems.length > 0) process.stdout.write(`${r.name}:\n${problems.slice(0, 20).map((p) => `  - ${p}`).join('\n')}\n`)
}
if (dead.length > 0) process.stdout.write(`processes not alive at the end: ${dead.join(', ')}\n`)
const ok = results.every((r) => r.balanced) && dead.length === 0
process.stdout.write(`chaos: ${results.filter((r) => r.balanced).length} of ${results.length} scenarios balanced, ${dead.length} processes lost, ${seconds} s\n`)

if (full) {
  const date = started.toISOString().slice(0, 10)
  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url))
  mkdirSync(dir, { recursive: true })
  const file = `${dir}chaos-${date}.md`
  writeFileSync(file, markdown(results, {
    date: started.toISOString(),
    command: values.only === undefined ? 'pnpm test:chaos' : `pnpm test:chaos -- --only ${values.only}`,
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`,
    load: `${timing.vus} virtual users; ${timing.warmupMs / 1000} s of load before each fault, ${timing.faultMs / 1000} s of fault, ${timing.afterMs / 1000} s after`,
    duration: `${seconds} s`,
    'processes alive at the end': dead.length === 0 ? 'all' : dead.join(', ')
  }) + '\n')
  process.stdout.write(`report: ${file}\n`)
}
process.exit(ok ? 0 : 1)
