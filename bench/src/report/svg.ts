/**
 * One bar group of the chart: a scenario's throughput, its p99 latency, and where measured the CPU milliseconds the
 * production processes spent per request, with the target for it.
 */
export interface ChartRow { name: string, rps: number, p99: number, cpuMs?: number, cpuTargetMs?: number }

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/**
 * A self-contained SVG: requests per second, p99 latency and production CPU per request, one row per scenario,
 * each scaled to its own column's maximum; a CPU target is a black tick across its bar's row. No library: the
 * chart is rows of rectangles.
 */
export function throughputLatencyChart (rows: ChartRow[], title: string): string {
  const rowH = 26
  const labelW = 330
  const barW = 260
  const gap = 40
  const top = 50
  const hasCpu = rows.some((r) => r.cpuMs !== undefined)
  const width = labelW + barW * (hasCpu ? 3 : 2) + gap * (hasCpu ? 2 : 1) + 40
  const height = top + rows.length * rowH + 30
  const maxRps = Math.max(1, ...rows.map((r) => r.rps))
  const maxP99 = Math.max(1, ...rows.map((r) => r.p99))
  const maxCpu = Math.max(0.001, ...rows.flatMap((r) => [r.cpuMs ?? 0, r.cpuTargetMs ?? 0]))
  const x1 = labelW
  const x2 = labelW + barW + gap
  const x3 = x2 + barW + gap
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    '<rect width="100%" height="100%" fill="#fff"/>',
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="${x1}" y="${top - 10}" font-weight="bold">requests/s (higher is better)</text>`,
    `<text x="${x2}" y="${top - 10}" font-weight="bold">p99 latency ms (lower is better)</text>`
  ]
  if (hasCpu) parts.push(`<text x="${x3}" y="${top - 10}" font-weight="bold">production CPU ms/request (| target)</text>`)
  rows.forEach((r, i) => {
    const y = top + i * rowH
    const w1 = Math.max(1, (r.rps / maxRps) * (barW - 60))
    const w2 = Math.max(1, (r.p99 / maxP99) * (barW - 60))
    parts.push(
      `<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(r.name)}</text>`,
      `<rect x="${x1}" y="${y + 3}" width="${w1.toFixed(1)}" height="${rowH - 8}" fill="#2b7bb9"/>`,
      `<text x="${x1 + w1 + 4}" y="${y + 15}">${Math.round(r.rps)}</text>`,
      `<rect x="${x2}" y="${y + 3}" width="${w2.toFixed(1)}" height="${rowH - 8}" fill="#d9822b"/>`,
      `<text x="${x2 + w2 + 4}" y="${y + 15}">${r.p99}</text>`
    )
    if (r.cpuMs !== undefined) {
      const w3 = Math.max(1, (r.cpuMs / maxCpu) * (barW - 60))
      const met = r.cpuTargetMs === undefined || r.cpuMs <= r.cpuTargetMs
      parts.push(
        `<rect x="${x3}" y="${y + 3}" width="${w3.toFixed(1)}" height="${rowH - 8}" fill="${met ? '#3a9a4a' : '#c0392b'}"/>`,
        `<text x="${x3 + w3 + 4}" y="${y + 15}">${r.cpuMs.toFixed(2)}${r.cpuTargetMs === undefined ? '' : ` / ${r.cpuTargetMs}`}</text>`
      )
      if (r.cpuTargetMs !== undefined) {
        const xt = x3 + (r.cpuTargetMs / maxCpu) * (barW - 60)
        parts.push(`<line x1="${xt.toFixed(1)}" y1="${y}" x2="${xt.toFixed(1)}" y2="${y + rowH - 2}" stroke="#000" stroke-width="2"/>`)
      }
    }
  })
  parts.push('</svg>')
  return parts.join('\n')
}
