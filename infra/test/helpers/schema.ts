import { join } from 'node:path'
import ts from 'typescript'
import { INFRA, type K8sObject } from './k8s.js'

/**
 * The Kubernetes version the manifests are validated against: kubernetes-models 5.x is generated from the
 * v1.36 OpenAPI spec. Changing the pinned package version changes this.
 */
export const KUBERNETES_VERSION = '1.36'

/** `apps/v1` + `Deployment` -> `kubernetes-models/apps/v1/Deployment`; the core group lives at `v1/`. */
function modulePath (o: K8sObject): string {
  return `kubernetes-models/${o.apiVersion}/${o.kind}`
}

/** Validates one object against its JSON schema; returns the problems, empty when valid. */
export async function schemaErrors (o: K8sObject): Promise<string[]> {
  let Model: { new (data: unknown): { validate: () => void } }
  try {
    const mod = await import(modulePath(o)) as Record<string, typeof Model>
    Model = mod[o.kind] as typeof Model
  } catch {
    return [`no schema for ${o.apiVersion} ${o.kind} in Kubernetes ${KUBERNETES_VERSION}`]
  }
  try {
    new Model(o).validate()
    return []
  } catch (err) {
    const errors = (err as { errors?: Array<{ instancePath: string, message?: string }> }).errors
    return errors?.map((e) => `${e.instancePath} ${e.message ?? ''}`) ?? [String(err)]
  }
}

/**
 * The JSON schemas allow unknown fields (as the API server does without strict field validation), so a typo
 * such as `readinesProbe` would pass them. TypeScript's excess-property check over the same models' types
 * finds those: every object becomes a typed literal in one virtual file.
 */
export function unknownFields (objects: K8sObject[]): Map<number, string[]> {
  const file = join(INFRA, 'test', '__manifests__.ts')
  const lines: string[] = []
  objects.forEach((o, i) => {
    lines.push(`import type { I${o.kind} as T${i} } from '${modulePath(o)}'`)
    lines.push(`export const o${i}: T${i} = ${JSON.stringify(o)}`)
  })
  const source = lines.join('\n')
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: []
  }
  const host = ts.createCompilerHost(options)
  const getSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (name, lang, ...rest) => name === file ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, ...rest)
  const fileExists = host.fileExists.bind(host)
  host.fileExists = (name) => name === file || fileExists(name)
  const readFile = host.readFile.bind(host)
  host.readFile = (name) => name === file ? source : readFile(name)
  const program = ts.createProgram([file], options, host)
  const out = new Map<number, string[]>()
  for (const d of ts.getPreEmitDiagnostics(program)) {
    if (d.file?.fileName !== file || d.start === undefined) {
      out.set(-1, [...(out.get(-1) ?? []), ts.flattenDiagnosticMessageText(d.messageText, '\n')])
      continue
    }
    const line = d.file.getLineAndCharacterOfPosition(d.start).line
    const index = Math.floor(line / 2)
    out.set(index, [...(out.get(index) ?? []), ts.flattenDiagnosticMessageText(d.messageText, ' ')])
  }
  return out
}
