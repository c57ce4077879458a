import { execFileSync, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, waitForPort } from '@wxmp/testing'
import type { Cleanup } from './cleanup.js'

/** A Postgres cluster of the suite's own: made with initdb in a temporary folder, on a spare port. */
export interface ThrowawayPostgres {
  port: number
  /** postgres://postgres@127.0.0.1:<port>/<db> */
  url: (database: string) => string
  /** Stops the server as a crash would (`pg_ctl stop -m immediate`): no checkpoint, WAL replayed on the next start. */
  stop: () => Promise<void>
  start: () => Promise<void>
}

function postgresBin (): string {
  if (process.env.PG_BIN !== undefined) return process.env.PG_BIN
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : []
  const v = versions.find((x) => existsSync(join(root, x, 'bin', 'initdb')))
  if (v === undefined) throw new Error('no Postgres server binaries under /usr/lib/postgresql/*/bin (set PG_BIN)')
  return join(root, v, 'bin')
}

/**
 * initdb refuses to run as root, and CI runs as root: then the cluster belongs to the `postgres` system user
 * (`CHAOS_PG_USER` to pick another) and every pg_ctl call goes through runuser.
 */
function runAs (): { uid: number, gid: number, user: string } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const user = process.env.CHAOS_PG_USER ?? 'postgres'
  const uid = Number(execFileSync('id', ['-u', user]).toString().trim())
  const gid = Number(execFileSync('id', ['-g', user]).toString().trim())
  return { uid, gid, user }
}

export async function throwawayPostgres (cleanup: Cleanup): Promise<ThrowawayPostgres> {
  const bin = postgresBin()
  const owner = runAs()
  const dir = mkdtempSync(join(tmpdir(), 'wxmp-chaos-pg-'))
  const data = join(dir, 'data')
  const sockets = join(dir, 'sock')
  mkdirSync(sockets)
  if (owner !== undefined) for (const p of [dir, sockets]) chownSync(p, owner.uid, owner.gid)
  const run = (tool: string, args: string[], allowFail = false): void => {
    const cmd = owner === undefined ? join(bin, tool) : 'runuser'
    const argv = owner === undefined ? args : ['-u', owner.user, '--', join(bin, tool), ...args]
    const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd: dir, timeout: 120_000 })
    if (r.status !== 0 && !allowFail) throw new Error(`${tool} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`)
  }
  const removeOnExit = cleanup.onExit(() => {
    run('pg_ctl', ['-D', data, 'stop', '-m', 'immediate'], true)
    rmSync(dir, { recursive: true, force: true })
  })
  run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions'])
  const port = await freePort()
  // fsync off: the suite kills the server process, never the machine, and the OS keeps what was written.
  const options = [`-p ${port}`, `-k ${sockets}`, '-c listen_addresses=127.0.0.1', '-c fsync=off', '-c full_page_writes=off', '-c max_connections=200']
  let running = false
  const pg: ThrowawayPostgres = {
    port,
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async start () {
      if (running) return
      run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-o', options.join(' '), '-w', '-t', '60', 'start'])
      running = true
      await waitForPort(port, 30_000)
    },
    async stop () {
      if (!running) return
      run('pg_ctl', ['-D', data, 'stop', '-m', 'immediate', '-w'], true)
      running = false
    }
  }
  cleanup.teardown(async () => {
    await pg.stop()
    rmSync(dir, { recursive: true, force: true })
    removeOnExit()
  })
  await pg.start()
  return pg
}
