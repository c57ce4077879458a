import Fastify from 'fastify'
import pg from 'pg'

// Two routes that read the same row: one from a pool of connections opened once, one the classic mistake
// of a new connection per request (connect, query, end). The server is its own process; the load is another.
const url = process.env.DATABASE_URL as string
const pool = new pg.Pool({ connectionString: url, max: Number(process.env.POOL_MAX ?? 10) })
await pool.query('CREATE TABLE IF NOT EXISTS bench_items (id int PRIMARY KEY, name text NOT NULL)')
await pool.query("INSERT INTO bench_items VALUES (1, 'latte') ON CONFLICT DO NOTHING")

const app = Fastify({ logger: false })
app.get('/pooled', async () => (await pool.query('SELECT id, name FROM bench_items WHERE id = $1', [1])).rows[0])
app.get('/unpooled', async () => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query('SELECT id, name FROM bench_items WHERE id = $1', [1])).rows[0]
  } finally {
    await client.end()
  }
})
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.on('SIGTERM', () => { void app.close().then(async () => { await pool.end(); process.exit(0) }) })
