import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Errors, type CatalogueError } from '@wxmp/core'
import { WechatErrors } from '@wxmp/wechat'
import { AuthErrors } from '@wxmp/auth/errors'
import { PaymentErrors } from '@wxmp/payment/errors'
import { GatewayErrors } from '../src/errors.js'

/** Every catalogue a client can get a code from, in the order docs/errors.md lists them. */
export const catalogues: Array<{ title: string, source: string, errors: Record<string, CatalogueError<any>> }> = [
  { title: 'Shared', source: 'packages/core/src/errors.ts', errors: Errors },
  { title: 'Gateway', source: 'services/gateway/src/errors.ts', errors: GatewayErrors },
  { title: 'Sign-in and sessions', source: 'services/auth/src/errors.ts', errors: AuthErrors },
  { title: 'WeChat and WeChat Pay', source: 'packages/wechat/src/errors.ts', errors: WechatErrors },
  { title: 'Payments', source: 'services/payment/src/errors.ts', errors: PaymentErrors }
]

export const docFile = fileURLToPath(new URL('../../../docs/errors.md', import.meta.url))

const cell = (text: string): string => text.replace(/\|/g, '\\|')

/** docs/errors.md from the catalogues; throws on a code without documentation or defined twice. */
export function renderErrorsDoc (): string {
  const seen = new Map<string, string>()
  const lines = [
    '# Error codes',
    '',
    '<!-- Generated from the error catalogues by `pnpm --filter @wxmp/gateway errors:doc`; do not edit by hand. -->',
    '',
    'Every error the API answers has this body, with the HTTP status below:',
    '',
    '```json',
    '{"error": {"code": "AUTH_CODE_USED", "message": "...", "traceId": "<32 hex>"}}',
    '```',
    '',
    'Code against `code`, never `message` (its wording may change). Some errors add `details`; 429, 423 and some',
    '503s send `Retry-After`, 401 sends `WWW-Authenticate`. Quote the `traceId` when reporting a problem: it finds the request in every service\'s logs.',
    'The codes below are a public contract: a code keeps its meaning and status once published.'
  ]
  for (const { title, source, errors } of catalogues) {
    lines.push('', `## ${title}`, '', `From \`${source}\`.`, '', '| code | HTTP status | meaning | what the client should do |', '| --- | --- | --- | --- |')
    for (const [name, entry] of Object.entries(errors)) {
      const where = `${source} ${name}`
      const first = seen.get(entry.code)
      if (first !== undefined) throw new Error(`${entry.code} is defined twice: ${first} and ${where}`)
      seen.set(entry.code, where)
      if (entry.doc === undefined) throw new Error(`${where} (${entry.code}) has no meaning and action for docs/errors.md`)
      lines.push(`| \`${entry.code}\` | ${entry.statusCode} | ${cell(entry.doc.meaning)} | ${cell(entry.doc.action)} |`)
    }
  }
  return lines.join('\n') + '\n'
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(docFile, renderErrorsDoc())
  console.log(`wrote ${docFile}`)
}
