import { parseArgs } from 'node:util'
import { runGatewayBench } from './bench.js'
import { AUTHENTICATED, STAND_IN_ME } from './targets.js'

// pnpm --filter @wxmp/bench bench:gateway [--duration 10] [--rounds 3] [--warmup 3] [--connections 100] [--stand-in] [--only hello,echo,auth] [--profile DIR] [--smoke]
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '100' },
    'stand-in': { type: 'boolean', default: false },
    profile: { type: 'string' },
    only: { type: 'string' },
    smoke: { type: 'boolean', default: false }
  }
})
await runGatewayBench({
  durationS: values.smoke ? 2 : Number(values.duration),
  rounds: values.smoke ? 1 : Number(values.rounds),
  warmupS: values.smoke ? 1 : Number(values.warmup),
  connections: values.smoke ? 10 : Number(values.connections),
  authenticated: values['stand-in'] ? STAND_IN_ME : AUTHENTICATED,
  ...(values.profile === undefined ? {} : { cpuProfileDir: values.profile }),
  ...(values.only === undefined ? {} : { only: values.only.split(',') })
})
