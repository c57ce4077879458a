import { parseArgs } from 'node:util'
import { runOrdersBench } from './bench.js'

// cd bench && node --import tsx --conditions=@wxmp/source src/payments/run.ts
//   [--duration 10] [--warmup 3] [--connections 100] [--rounds 1] [--profile DIR] [--smoke]
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '1' },
    profile: { type: 'string' },
    smoke: { type: 'boolean', default: false }
  }
})
await runOrdersBench({
  durationS: values.smoke ? 2 : Number(values.duration),
  warmupS: values.smoke ? 1 : Number(values.warmup),
  connections: values.smoke ? 10 : Number(values.connections),
  rounds: values.smoke ? 1 : Number(values.rounds),
  ...(values.profile === undefined ? {} : { cpuProfileDir: values.profile })
})
