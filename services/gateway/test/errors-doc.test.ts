import { readFileSync } from 'node:fs'
import t from 'tap'
import { catalogues, docFile, renderErrorsDoc } from '../scripts/errors-doc.js'

t.test('docs/errors.md is what the catalogues generate: regenerate it with `pnpm --filter @wxmp/gateway errors:doc`', async (t) => {
  t.equal(readFileSync(docFile, 'utf8'), renderErrorsDoc(), 'docs/errors.md is stale')
})

t.test('every catalogue entry builds errors with the code and status the list publishes', async (t) => {
  for (const { source, errors } of catalogues) {
    for (const [name, Entry] of Object.entries(errors)) {
      const err = new Entry('x')
      t.equal(err.code, Entry.code, `${source} ${name}`)
      t.equal(err.statusCode, Entry.statusCode, `${source} ${name}`)
      t.match(Entry.code, /^[A-Z][A-Z0-9_]{2,63}$/, 'a code the envelope shows')
    }
  }
})
