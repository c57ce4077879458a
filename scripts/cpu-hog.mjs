// Keeps N cores busy until killed, to run the test suite the way a loaded CI machine or a shared laptop would:
//   node scripts/cpu-hog.mjs 2
// Plain busy loops in worker threads; nothing to install.
import { Worker } from 'node:worker_threads'
import os from 'node:os'

const n = Number(process.argv[2] ?? os.availableParallelism())
if (!Number.isInteger(n) || n < 1) {
  console.error('usage: node scripts/cpu-hog.mjs [workers]')
  process.exit(2)
}
const workers = Array.from({ length: n }, () => new Worker('for (;;) {}', { eval: true }))
console.error(`cpu-hog: ${workers.length} busy workers (pid ${process.pid}); stop with kill ${process.pid}`)
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0))
