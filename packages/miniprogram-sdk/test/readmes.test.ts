import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * What a translation must keep of its original: the sections (heading levels, and the code in their titles), and in
 * each section its tables (rows and the code of their first column), bullets, and code blocks with the same
 * commands; of a Mermaid diagram, who sends what to whom, in what order. Prose is free to read naturally.
 */
function skeleton (markdown: string): string[] {
  const out: string[] = []
  let fence: string | undefined
  let bullets = 0
  const flush = (): void => {
    if (bullets > 0) out.push(`${bullets} bullets`)
    bullets = 0
  }
  for (const line of markdown.split('\n')) {
    const open = /^```(\w*)/.exec(line)
    if (open !== null) {
      flush()
      if (fence === undefined) {
        fence = open[1] ?? ''
        out.push(`block ${fence}`)
      } else {
        fence = undefined
        out.push('end block')
      }
      continue
    }
    if (fence === 'sh') {
      const command = line.replace(/#.*$/, '').trim()
      if (command !== '') out.push(`sh ${command}`)
    } else if (fence === 'ts') {
      const code = line.replace(/'[^']*'/g, "''").replace(/\/\/.*$/, '').replace(/\/\*.*\*\//, '').trim()
      if (code !== '') out.push(`ts ${code}`)
    } else if (fence === 'mermaid') {
      const step = line.trim()
      const arrow = /^(\w+)\s*(-{1,2}>>|-{1,2}\)|->)\s*(\w+)/.exec(step)
      if (arrow !== null) out.push(`mermaid ${arrow[1] ?? ''}${arrow[2] ?? ''}${arrow[3] ?? ''}`)
      else if (step !== '') out.push(`mermaid ${step.split(/\s/)[0] ?? ''}`)
    } else if (fence !== undefined) {
      out.push(`text ${line}`)
    } else if (/^#{1,6} /.test(line)) {
      flush()
      const level = /^#+/.exec(line)?.[0] ?? ''
      out.push(`${level} ${(line.match(/`[^`]+`/g) ?? []).join(' ')}`)
    } else if (line.startsWith('|')) {
      flush()
      out.push(`row ${/^\|\s*(`[^`]+`)/.exec(line)?.[1] ?? ''}`)
    } else if (/^- /.test(line)) {
      bullets++
    }
  }
  flush()
  return out
}

const root = join(__dirname, '..', '..', '..')

for (const [english, chinese] of [['README.md', 'README.zh-CN.md'], ['packages/miniprogram-sdk/README.md', 'packages/miniprogram-sdk/README.zh-CN.md']] as const) {
  t.test(`${chinese} keeps in step with ${english}: the same sections, tables, bullets, commands and diagrams`, async (t) => {
    const en = skeleton(readFileSync(join(root, english), 'utf8'))
    const zh = skeleton(readFileSync(join(root, chinese), 'utf8'))
    t.ok(en.filter((s) => s.startsWith('#')).length > 2, 'the English README has sections')
    t.same(zh, en, 'update both READMEs together')
    t.match(readFileSync(join(root, english), 'utf8'), chinese.split('/').pop() as string, 'the English README links to the Chinese one')
  })
}
