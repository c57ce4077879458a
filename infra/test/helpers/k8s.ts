import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { writeDevSecrets } from '../../scripts/dev-secrets.mjs'

export const INFRA = fileURLToPath(new URL('../..', import.meta.url))
export const ROOT = join(INFRA, '..')
export const KUBECTL = process.env.KUBECTL ?? 'kubectl'

/** A rendered Kubernetes object, loosely typed: the tests walk it as plain JSON. */
export interface K8sObject {
  apiVersion: string
  kind: string
  metadata: { name: string, namespace?: string, labels?: Record<string, string>, annotations?: Record<string, string> }
  [key: string]: any
}

export type Overlay = 'dev' | 'prod'

/**
 * Renders an overlay with `kubectl kustomize`. The dev overlay reads generated secret files, so it is rendered
 * from a copy of infra/k8s with a fresh set, never from the developer's own secrets/ folder.
 */
export async function render (overlay: Overlay): Promise<{ objects: K8sObject[], text: string }> {
  const copy = mkdtempSync(join(tmpdir(), 'wxmp-k8s-'))
  try {
    cpSync(join(INFRA, 'k8s'), join(copy, 'k8s'), { recursive: true, filter: (src) => !src.includes(`${join('overlays', 'dev', 'secrets')}`) })
    if (overlay === 'dev') await writeDevSecrets(join(copy, 'k8s', 'overlays', 'dev', 'secrets'))
    let text: string
    try {
      text = execFileSync(KUBECTL, ['kustomize', join(copy, 'k8s', 'overlays', overlay)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string }
      if (e.code === 'ENOENT') throw new Error(`${KUBECTL} not found: these tests render the overlays with \`kubectl kustomize\` (set KUBECTL to its path)`)
      throw new Error(`kubectl kustomize overlays/${overlay} failed: ${e.stderr ?? e.message}`)
    }
    const objects = parseAllDocuments(text).map((d) => d.toJSON() as K8sObject).filter((o) => o !== null)
    return { objects, text }
  } finally {
    rmSync(copy, { recursive: true, force: true })
  }
}

export const byKind = (objects: K8sObject[], kind: string): K8sObject[] => objects.filter((o) => o.kind === kind)
export const find = (objects: K8sObject[], kind: string, name: string): K8sObject | undefined => objects.find((o) => o.kind === kind && o.metadata.name === name)

/** Kinds whose spec carries a pod template, and where it is. */
export function podTemplate (o: K8sObject): { metadata: { labels?: Record<string, string>, annotations?: Record<string, string> }, spec: any } | undefined {
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(o.kind)) return o.spec.template
  if (o.kind === 'CronJob') return o.spec.jobTemplate.spec.template
  if (o.kind === 'Pod') return { metadata: o.metadata, spec: o.spec }
  return undefined
}

export const workloads = (objects: K8sObject[]): K8sObject[] => objects.filter((o) => podTemplate(o) !== undefined)

export function containers (pod: { spec: any }): any[] {
  return [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])]
}

/** Does a label selector (matchLabels / matchExpressions) select these labels? */
export function selects (selector: { matchLabels?: Record<string, string>, matchExpressions?: any[] } | undefined, labels: Record<string, string> = {}): boolean {
  if (selector === undefined) return false
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key)
    if (e.operator === 'In' && !(has && (e.values as string[]).includes(labels[e.key] as string))) return false
    if (e.operator === 'NotIn' && has && (e.values as string[]).includes(labels[e.key] as string)) return false
    if (e.operator === 'Exists' && !has) return false
    if (e.operator === 'DoesNotExist' && has) return false
  }
  return true
}

/** The generated name's hash suffix removed: `auth-env-59dtmd89kh` -> `auth-env`. */
export const baseName = (name: string): string => name.replace(/-[a-z0-9]{10}$/, '')

/** Every ConfigMap and Secret a pod spec names, with where it is named. */
export function podRefs (spec: any): Array<{ kind: 'ConfigMap' | 'Secret', name: string, where: string, key?: string, optional?: boolean }> {
  const refs: Array<{ kind: 'ConfigMap' | 'Secret', name: string, where: string, key?: string, optional?: boolean }> = []
  for (const c of containers({ spec })) {
    for (const e of c.envFrom ?? []) {
      if (e.configMapRef !== undefined) refs.push({ kind: 'ConfigMap', name: e.configMapRef.name, where: `${c.name} envFrom`, optional: e.configMapRef.optional })
      if (e.secretRef !== undefined) refs.push({ kind: 'Secret', name: e.secretRef.name, where: `${c.name} envFrom`, optional: e.secretRef.optional })
    }
    for (const e of c.env ?? []) {
      const cm = e.valueFrom?.configMapKeyRef
      const s = e.valueFrom?.secretKeyRef
      if (cm !== undefined) refs.push({ kind: 'ConfigMap', name: cm.name, key: cm.key, where: `${c.name} env ${e.name}`, optional: cm.optional })
      if (s !== undefined) refs.push({ kind: 'Secret', name: s.name, key: s.key, where: `${c.name} env ${e.name}`, optional: s.optional })
    }
  }
  for (const v of spec.volumes ?? []) {
    if (v.configMap !== undefined) refs.push({ kind: 'ConfigMap', name: v.configMap.name, where: `volume ${v.name}`, optional: v.configMap.optional })
    if (v.secret !== undefined) refs.push({ kind: 'Secret', name: v.secret.secretName, where: `volume ${v.name}`, optional: v.secret.optional })
    for (const p of v.projected?.sources ?? []) {
      if (p.configMap !== undefined) refs.push({ kind: 'ConfigMap', name: p.configMap.name, where: `volume ${v.name}` })
      if (p.secret !== undefined) refs.push({ kind: 'Secret', name: p.secret.name, where: `volume ${v.name}` })
    }
  }
  return refs
}

/** The environment a container sees from its ConfigMaps (in envFrom order, later wins), plus literal env values. */
export function configEnv (objects: K8sObject[], container: any): Record<string, string> {
  const env: Record<string, string> = {}
  for (const e of container.envFrom ?? []) {
    if (e.configMapRef !== undefined) Object.assign(env, find(objects, 'ConfigMap', e.configMapRef.name)?.data ?? {})
  }
  for (const e of container.env ?? []) if (typeof e.value === 'string') env[e.name] = e.value
  return env
}
