import { parseArgs } from 'node:util'
import { runLoginBench } from './bench.js'

// pnpm --filter @wxmp/bench bench:login [--duration 10] [--warmup 3] [--connections 50] [--profile DIR] [--smoke]
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    smoke: { type: 'boolean', default: false },
    profile: { type: 'string' }
  }
})
await runLoginBench({
  durationS: values.smoke ? 2 : Number(values.duration),
  warmupS: values.smoke ? 1 : Number(values.warmup),
  connections: values.smoke ? 10 : Number(values.connections),
  ...(values.profile === undefined ? {} : { cpuProfileDir: values.profile })
})
