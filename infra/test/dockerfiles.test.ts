import t from 'tap'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { dockerfile, finalStage } from './helpers/dockerfile.js'
import { INFRA, ROOT, find, render } from './helpers/k8s.js'
import { hasMigrations } from './helpers/services.js'

const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { packageManager: string, engines: { node: string } }
const services = readdirSync(join(ROOT, 'services')).filter((s) => existsSync(join(ROOT, 'services', s, 'package.json')))
const { objects } = await render('dev')

const version = (v: string): number[] => v.split('.').map(Number)
const atLeast = (v: number[], min: number[]): boolean => {
  for (let i = 0; i < min.length; i++) if ((v[i] ?? 0) !== (min[i] ?? 0)) return (v[i] ?? 0) > (min[i] ?? 0)
  return true
}

for (const svc of services) {
  t.test(`${svc}.Dockerfile`, async (t) => {
    t.ok(existsSync(join(INFRA, 'docker', `${svc}.Dockerfile`)), `every service has an image (infra/docker/${svc}.Dockerfile)`)
    const ins = dockerfile(svc)
    const final = finalStage(ins)

    for (const from of ins.filter((i) => i.op === 'FROM')) {
      const image = from.args.split(/\s+/)[0] as string
      t.match(image, /^node:\d+\.\d+\.\d+-[a-z]+-slim$|@sha256:[0-9a-f]{64}$/, `${image} is pinned to a full version`)
      const node = /^node:(\d+\.\d+\.\d+)/.exec(image)?.[1]
      if (node !== undefined) t.ok(atLeast(version(node), version(rootPkg.engines.node.replace(/^>=/, ''))), `Node ${node} satisfies engines ${rootPkg.engines.node}`)
    }
    t.ok(ins.some((i) => i.op === 'RUN' && i.args.includes(rootPkg.packageManager)), `installs the pinned ${rootPkg.packageManager}`)
    t.ok(ins.some((i) => i.op === 'RUN' && i.args === 'pnpm install --frozen-lockfile --offline'), 'installs exactly the lockfile')
    t.ok(ins.some((i) => i.op === 'RUN' && i.args.includes(`turbo run build --filter=@wxmp/${svc}...`)), 'builds the service and what it depends on')
    t.ok(ins.some((i) => i.op === 'RUN' && i.args === `pnpm --filter @wxmp/${svc} deploy --prod /out`), 'ships production dependencies only')

    const user = final.find((i) => i.op === 'USER')?.args
    t.match(user, /^[1-9]\d*:[1-9]\d*$/, 'runs as a numeric non-root user, so Kubernetes can verify runAsNonRoot')
    t.same(JSON.parse(final.find((i) => i.op === 'CMD')?.args ?? 'null'), ['node', 'dist/server.js'], 'starts node directly, which receives SIGTERM itself')
    const copies = final.filter((i) => i.op === 'COPY').map((i) => i.args)
    t.notOk(copies.some((c) => c.startsWith('. ') || c.includes('.dev')), 'copies chosen paths, never the whole context')
    t.equal(copies.some((c) => c.includes('src/db/migrations')), hasMigrations(svc), 'ships its SQL migrations when it has any')
    t.equal(copies.some((c) => c.includes('migrate.mjs')), hasMigrations(svc), 'ships the migration entry when it has migrations')

    const deployment = find(objects, 'Deployment', svc)
    t.ok(deployment, `the dev overlay runs ${svc}`)
    const exposed = (final.find((i) => i.op === 'EXPOSE')?.args ?? '').split(/\s+/).map(Number)
    for (const p of deployment?.spec.template.spec.containers[0].ports ?? []) t.ok(exposed.includes(p.containerPort), `EXPOSE ${p.containerPort} (${p.name})`)
  })
}

t.test('.dockerignore keeps secrets and build outputs out of the build context', async (t) => {
  const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim())
  for (const p of ['.dev', '.git', '**/node_modules', '**/dist', '**/*.pem', '**/.env', 'infra/k8s']) t.ok(ignore.includes(p), `ignores ${p}`)
})
