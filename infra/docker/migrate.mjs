// The entry point of a service's migration Job: applies the SQL migrations shipped in the image, then exits.
// It reads only the database settings, so the Job needs the database URL and none of the service's other secrets.
import { fileURLToPath } from 'node:url'
import { readFileSync } from 'node:fs'
import { Type } from '@sinclair/typebox'
import { boot, createLogger, databaseConfigProperties, ensureDatabase, loadConfig, migrate } from '@wxmp/core'

const { name, wxmp } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'))
const service = `${name.replace(/^@wxmp\//, '')}-migrate`

boot(service, async () => {
  const config = loadConfig(Type.Object({
    LOG_LEVEL: Type.String({ default: 'info' }),
    DATABASE_URL: databaseConfigProperties.DATABASE_URL,
    DATABASE_CREATE: databaseConfigProperties.DATABASE_CREATE
  }))
  const log = createLogger({ service, level: config.LOG_LEVEL })
  if (config.DATABASE_CREATE) await ensureDatabase(config.DATABASE_URL)
  const dir = fileURLToPath(new URL('./src/db/migrations', import.meta.url))
  // A service that publishes events also runs the shared outbox migration, as serviceBase does with useOutbox.
  const dirs = wxmp?.outbox === true ? [dir, (await import('@wxmp/service')).OUTBOX_MIGRATIONS_DIR] : dir
  const applied = await migrate(config.DATABASE_URL, dirs, (msg) => log.debug(msg))
  log.info({ migrations: applied }, applied.length > 0 ? 'migrations applied' : 'schema up to date')
})
