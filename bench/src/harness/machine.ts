import os from 'node:os'

/** What a number measured here depends on; printed with every run. */
export function machineFacts (): Record<string, string | number> {
  const cpus = os.cpus()
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage1m: Number(os.loadavg()[0]?.toFixed(2)),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    date: new Date().toISOString()
  }
}
