import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { INFRA } from './k8s.js'

export interface Instruction { op: string, args: string, stage: number }

/** The instructions of infra/docker/<svc>.Dockerfile, continuation lines joined, each tagged with its stage. */
export function dockerfile (svc: string): Instruction[] {
  const text = readFileSync(join(INFRA, 'docker', `${svc}.Dockerfile`), 'utf8')
  const out: Instruction[] = []
  let stage = -1
  for (const line of text.replace(/\\\n/g, ' ').split('\n')) {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line)
    if (m === null || line.trimStart().startsWith('#')) continue
    const op = (m[1] as string).toUpperCase()
    if (op === 'FROM') stage++
    out.push({ op, args: (m[2] as string).trim(), stage })
  }
  return out
}

/** The stage the image is made of: the last one. */
export const finalStage = (ins: Instruction[]): Instruction[] => ins.filter((i) => i.stage === Math.max(...ins.map((x) => x.stage)))
