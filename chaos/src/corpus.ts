import { createHmac, generateKeyPairSync, randomUUID, sign } from 'node:crypto'

/** JSON Schema as the OpenAPI document carries it (TypeBox output), loosely typed. */
export type Schema = Record<string, any>

/** One public operation, read from the gateway's OpenAPI document. */
export interface Operation {
  method: string
  /** OpenAPI path template, e.g. /v1/payments/orders/{id}. */
  path: string
  auth: 'public' | 'optional' | 'required'
  body?: Schema
  pathParams: string[]
  query: Array<{ name: string, schema: Schema }>
  headers: Array<{ name: string, schema: Schema }>
  /** Every method the API serves on this path, so a "wrong method" case picks one it does not. */
  pathMethods: string[]
}

/**
 * What a case may get back. `reject`: the input is wrong whatever the route does with it, so the answer must be a
 * 4xx. `no-5xx`: hostile but possibly valid input (an SQL string as a nickname), so 2xx is fine; only 5xx, a missing
 * answer or a bare error body fail.
 */
export type Expect = 'reject' | 'no-5xx'

export interface Case {
  op: string
  category: string
  name: string
  expect: Expect
  /** The exact bytes of the request, minus the Host, Connection and Content-Length lines the runner adds. */
  method: string
  target: string
  headers: Array<[string, string]>
  body?: Buffer
  /** Send this Content-Length instead of the body's length (or none with null). */
  contentLength?: string | null
  /** Extra raw header lines written as they are (CR/LF and NUL included). */
  rawHeaderLines?: string[]
  /** The request line as written, when it is itself the attack. */
  requestLine?: string
  /**
   * The bytes stop short of what the headers announce (a Content-Length larger than the body): the request is never
   * complete, so it is never accepted and is owed no answer; the server must only survive it.
   */
  incomplete?: boolean
  /** Use the signed-in corpus user's token (default for routes that need one). */
  auth?: 'valid' | 'none' | string
}

const DOCS_ONLY = new Set(['/docs', '/docs/json'])

/** The operations of the public API, from /docs/json, so a route added later is covered without editing this suite. */
export function operationsOf (doc: Schema): Operation[] {
  const ops: Operation[] = []
  for (const [path, methods] of Object.entries<Schema>(doc.paths ?? {})) {
    if (DOCS_ONLY.has(path)) continue
    for (const [method, op] of Object.entries<Schema>(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue
      const security = (op.security ?? doc.security ?? []) as unknown[]
      const auth = security.length === 0 ? 'public' : security.some((s) => Object.keys(s as object).length === 0) ? 'optional' : 'required'
      const params = (op.parameters ?? []) as Array<{ in: string, name: string, schema: Schema }>
      const body = op.requestBody?.content?.['application/json']?.schema as Schema | undefined
      ops.push({
        method: method.toUpperCase(),
        path,
        auth,
        ...(body === undefined ? {} : { body }),
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        query: params.filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema ?? {} })),
        headers: params.filter((p) => p.in === 'header').map((p) => ({ name: p.name, schema: p.schema ?? {} })),
        pathMethods: Object.keys(methods).map((m) => m.toUpperCase())
      })
    }
  }
  return ops
}

const b64url = (x: Buffer | string): string => Buffer.from(x).toString('base64url')

/** Tokens that must all be refused: unsigned, signed with the wrong key or algorithm, malformed, oversized. */
export function forgedTokens (sub = randomUUID()): Record<string, string> {
  const now = Math.floor(Date.now() / 1000)
  const claims = { iss: 'wxmp-auth', aud: 'wxmp-api', sub, sid: randomUUID(), jti: randomUUID(), iat: now, exp: now + 900 }
  const unsigned = (header: object, payload: object = claims): string => `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  const es256 = (header: object, payload: object = claims): string => {
    const input = unsigned(header, payload)
    return `${input}.${b64url(sign('sha256', Buffer.from(input), { key: other, dsaEncoding: 'ieee-p1363' }))}`
  }
  const hs = unsigned({ alg: 'HS256', typ: 'JWT', kid: 'k1' })
  return {
    'alg-none': `${unsigned({ alg: 'none', typ: 'JWT' })}.`,
    'alg-none-kid': `${unsigned({ alg: 'none', typ: 'JWT', kid: 'k1' })}.`,
    'hs256-guessed-secret': `${hs}.${b64url(createHmac('sha256', 'secret').update(hs).digest())}`,
    'es256-other-key': es256({ alg: 'ES256', typ: 'JWT', kid: 'k1' }),
    'es256-unknown-kid': es256({ alg: 'ES256', typ: 'JWT', kid: 'attacker' }),
    'kid-path-traversal': es256({ alg: 'ES256', typ: 'JWT', kid: '../../../../etc/passwd' }),
    'kid-sql': es256({ alg: 'ES256', typ: 'JWT', kid: "k1' OR '1'='1" }),
    'jku-header': es256({ alg: 'ES256', typ: 'JWT', kid: 'k1', jku: 'http://127.0.0.1:9/jwks.json' }),
    expired: es256({ alg: 'ES256', typ: 'JWT', kid: 'k1' }, { ...claims, iat: now - 7200, exp: now - 3600 }),
    garbage: 'not.a.jwt',
    'two-parts': 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0',
    'bad-base64': '!!!.???.***',
    empty: '',
    huge: 'a'.repeat(8000) + '.' + 'b'.repeat(4000) + '.c',
    'json-header-array': `${b64url('[]')}.${b64url('{}')}.x`
  }
}

/** Values that attack a string field: SQL and NoSQL injection, traversal, control and odd Unicode characters. */
const HOSTILE_STRINGS: Record<string, { category: string, value: unknown }> = {
  'sql-or': { category: 'injection-sql', value: "' OR '1'='1" },
  'sql-drop': { category: 'injection-sql', value: "'; DROP TABLE orders; --" },
  'sql-union': { category: 'injection-sql', value: '1 UNION SELECT password_hash FROM users --' },
  'sql-sleep': { category: 'injection-sql', value: "1'; SELECT pg_sleep(10); --" },
  'nosql-gt': { category: 'injection-nosql', value: { $gt: '' } },
  'nosql-ne': { category: 'injection-nosql', value: { $ne: null } },
  'nosql-where': { category: 'injection-nosql', value: { $where: 'sleep(1000)' } },
  'nosql-regex': { category: 'injection-nosql', value: { $regex: '.*' } },
  traversal: { category: 'path-traversal', value: '../../../../etc/passwd' },
  'traversal-encoded': { category: 'path-traversal', value: '..%2F..%2F..%2Fetc%2Fpasswd' },
  'nul-byte': { category: 'injection-sql', value: 'abc\u0000def' },
  crlf: { category: 'header-injection', value: 'a\r\nSet-Cookie: pwned=1' },
  'rtl-override': { category: 'wrong-type', value: '\u202Egnp.exe' },
  'lone-surrogate': { category: 'invalid-utf8', value: '\uD800' },
  long: { category: 'huge', value: 'x'.repeat(3000) }
}

/** Values of the wrong type for any field. */
const WRONG_TYPES: Record<string, unknown> = {
  number: 12345,
  negative: -1,
  zero: 0,
  float: 1.5,
  huge: 1e308,
  'beyond-int32': 2_147_483_648,
  'beyond-safe-int': 9_007_199_254_740_992,
  'numeric-string': '10',
  boolean: true,
  null: null,
  array: [1, 2],
  'empty-array': [],
  object: { a: 1 },
  'empty-string': ''
}

/**
 * Whether `value` certainly fails `schema` under the gateway's Ajv (which coerces scalars, and unwraps
 * one-element arrays): true only when no coercion can rescue it, so the answer must be a 4xx.
 */
export function certainlyInvalid (schema: Schema, value: unknown): boolean {
  if (schema === undefined) return false
  if (Array.isArray(value) && value.length === 1 && schema.type !== 'array') return certainlyInvalid(schema, value[0])
  if (Array.isArray(schema.anyOf) || Array.isArray(schema.oneOf)) {
    const alts = (schema.anyOf ?? schema.oneOf) as Schema[]
    return alts.every((s) => certainlyInvalid(s, value))
  }
  const type = schema.type as string | string[] | undefined
  const types = type === undefined ? [] : Array.isArray(type) ? type : [type]
  if (types.length === 0) return false
  return types.every((t) => {
    switch (t) {
      case 'integer':
      case 'number': {
        if (value !== null && typeof value === 'object') return true
        if (typeof value === 'string' && (value.trim() === '' || Number.isNaN(Number(value)))) return true
        const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : undefined
        if (n === undefined) return false
        if (t === 'integer' && !Number.isInteger(n)) return true
        if (typeof schema.minimum === 'number' && n < schema.minimum) return true
        if (typeof schema.maximum === 'number' && n > schema.maximum) return true
        return false
      }
      case 'string': {
        if (value !== null && typeof value === 'object') return true
        if (typeof value !== 'string') return false
        if (typeof schema.maxLength === 'number' && [...value].length > schema.maxLength) return true
        if (typeof schema.minLength === 'number' && [...value].length < schema.minLength) return true
        if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) return true
        if (schema.format === 'uuid' && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) return true
        return false
      }
      case 'boolean': return value !== null && typeof value === 'object'
      case 'object': return value === null || typeof value !== 'object' || Array.isArray(value)
      case 'null': return value !== null && typeof value === 'object'
      case 'array': return false
      default: return false
    }
  })
}

/** A value that satisfies `schema`, for the fields a case leaves alone. */
export function sampleOf (schema: Schema | undefined, name = ''): unknown {
  if (schema === undefined) return 'x'
  if (schema.default !== undefined) return schema.default
  if (Array.isArray(schema.anyOf)) return sampleOf(schema.anyOf[0] as Schema, name)
  switch (schema.type) {
    case 'integer':
    case 'number': return typeof schema.minimum === 'number' ? Math.max(1, schema.minimum) : 1
    case 'boolean': return true
    case 'object': {
      const out: Record<string, unknown> = {}
      for (const [k, s] of Object.entries<Schema>(schema.properties ?? {})) out[k] = sampleOf(s, k)
      return out
    }
    case 'array': return []
    default:
      if (schema.format === 'uuid') return randomUUID()
      if (schema.format === 'uri' || /url|avatar/i.test(name)) return 'https://example.com/a.png'
      if (name === 'productId') return 'latte'
      if (schema.pattern === '^\\d{6}$' || /totp|otp/i.test(name)) return '123456'
      return typeof schema.minLength === 'number' && schema.minLength > 4 ? 'x'.repeat(schema.minLength) : 'chaos-value'
  }
}

function json (value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8')
}

/** Every bad-input case for one operation. `ids` fills path parameters with real values where a case needs them. */
export function casesFor (op: Operation, ids: Record<string, string>): Case[] {
  const cases: Case[] = []
  const opName = `${op.method} ${op.path}`
  const fill = (overrides: Record<string, string> = {}): string =>
    op.path.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(overrides[name] ?? ids[name] ?? randomUUID()))
  const target = fill()
  const validBody = op.body === undefined ? undefined : sampleOf(op.body) as Record<string, unknown>
  const keyHeader: Array<[string, string]> = op.headers.some((h) => h.name === 'idempotency-key') ? [['idempotency-key', randomUUID()]] : []
  const add = (c: Omit<Case, 'op' | 'method' | 'target' | 'headers'> & Partial<Pick<Case, 'method' | 'target' | 'headers'>>): void => {
    cases.push({ op: opName, method: op.method, target, headers: [...keyHeader], ...c })
  }
  const withBody = op.method !== 'GET' && op.method !== 'HEAD'
  const ctype: Array<[string, string]> = [['content-type', 'application/json']]

  if (op.body !== undefined && validBody !== undefined) {
    const required = (op.body.required ?? []) as string[]
    const props = Object.entries<Schema>(op.body.properties ?? {})
    if (required.length > 0) add({ category: 'missing-field', name: 'empty object', expect: 'reject', headers: [...keyHeader, ...ctype], body: json({}) })
    for (const field of required) {
      const rest = { ...validBody }
      delete rest[field]
      add({ category: 'missing-field', name: `without ${field}`, expect: 'reject', headers: [...keyHeader, ...ctype], body: json(rest) })
    }
    for (const [field, schema] of props) {
      for (const [label, value] of Object.entries(WRONG_TYPES)) {
        const category = /amount|quantity|price|limit/i.test(field) && typeof value === 'number' ? 'amounts' : 'wrong-type'
        add({ category, name: `${field}=${label}`, expect: certainlyInvalid(schema, value) ? 'reject' : 'no-5xx', headers: [...keyHeader, ...ctype], body: json({ ...validBody, [field]: value }) })
      }
      for (const [label, { category, value }] of Object.entries(HOSTILE_STRINGS)) {
        add({ category, name: `${field}=${label}`, expect: certainlyInvalid(schema, value) ? 'reject' : 'no-5xx', headers: [...keyHeader, ...ctype], body: json({ ...validBody, [field]: value }) })
      }
    }
    const closed = op.body.additionalProperties === false
    add({ category: 'extra-field', name: 'unknown field', expect: closed ? 'reject' : 'no-5xx', headers: [...keyHeader, ...ctype], body: json({ ...validBody, isAdmin: true }) })
    add({ category: 'extra-field', name: 'price chosen by the client', expect: closed ? 'reject' : 'no-5xx', headers: [...keyHeader, ...ctype], body: json({ ...validBody, price: 1, amount: 1 }) })
    add({ category: 'proto-pollution', name: '__proto__', expect: 'reject', headers: [...keyHeader, ...ctype], body: Buffer.from(`{"__proto__":{"isAdmin":true},${JSON.stringify(validBody).slice(1)}`) })
    add({ category: 'proto-pollution', name: 'constructor.prototype', expect: 'reject', headers: [...keyHeader, ...ctype], body: Buffer.from(`{"constructor":{"prototype":{"isAdmin":true}},${JSON.stringify(validBody).slice(1)}`) })
    for (const [label, value] of Object.entries({ array: [validBody], string: 'x', number: 1, null: null, true: true })) {
      add({ category: 'not-object', name: `body is ${label}`, expect: 'reject', headers: [...keyHeader, ...ctype], body: json(value) })
    }
  }
  if (withBody) {
    add({ category: 'malformed-json', name: 'truncated JSON', expect: 'reject', headers: [...keyHeader, ...ctype], body: Buffer.from('{"a":') })
    add({ category: 'malformed-json', name: 'NaN literal', expect: 'reject', headers: [...keyHeader, ...ctype], body: Buffer.from('{"quantity":NaN,"amount":Infinity}') })
    add({ category: 'malformed-json', name: 'single quotes', expect: 'reject', headers: [...keyHeader, ...ctype], body: Buffer.from("{'a':1}") })
    add({ category: 'malformed-json', name: 'trailing garbage', expect: 'reject', headers: [...keyHeader, ...ctype], body: Buffer.concat([json(validBody ?? {}), Buffer.from('}}}')]) })
    add({ category: 'malformed-json', name: 'empty body with JSON type', expect: op.body === undefined ? 'no-5xx' : 'reject', headers: [...keyHeader, ...ctype], body: Buffer.alloc(0) })
    add({ category: 'invalid-utf8', name: 'invalid UTF-8 in a string', expect: 'no-5xx', headers: [...keyHeader, ...ctype], body: Buffer.concat([Buffer.from('{"code":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1]), Buffer.from('","productId":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]) })
    add({ category: 'invalid-utf8', name: 'UTF-16 body', expect: 'reject', headers: [...keyHeader, ['content-type', 'application/json; charset=utf-16']], body: Buffer.from(JSON.stringify(validBody ?? {}), 'utf16le') })
    add({ category: 'invalid-utf8', name: 'BOM and overlong encoding', expect: 'no-5xx', headers: [...keyHeader, ...ctype], body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":"'), Buffer.from([0xc0, 0xaf, 0xe0, 0x80, 0xaf]), Buffer.from('"}')]) })
    add({ category: 'content-type', name: 'text/plain', expect: op.body === undefined ? 'no-5xx' : 'reject', headers: [...keyHeader, ['content-type', 'text/plain']], body: json(validBody ?? {}) })
    add({ category: 'content-type', name: 'form-urlencoded', expect: op.body === undefined ? 'no-5xx' : 'reject', headers: [...keyHeader, ['content-type', 'application/x-www-form-urlencoded']], body: Buffer.from('productId=latte&quantity=1') })
    add({ category: 'content-type', name: 'multipart', expect: op.body === undefined ? 'no-5xx' : 'reject', headers: [...keyHeader, ['content-type', 'multipart/form-data; boundary=x']], body: Buffer.from('--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n') })
    add({ category: 'huge', name: '2 MB JSON body', expect: 'reject', headers: [...keyHeader, ...ctype], body: json({ ...validBody, pad: 'x'.repeat(2 * 1024 * 1024) }) })
    add({ category: 'huge', name: '100 kB of keys', expect: 'reject', headers: [...keyHeader, ...ctype], body: json(Object.fromEntries(Array.from({ length: 8000 }, (_v, i) => [`k${i}`, i]))) })
    add({ category: 'huge', name: 'Content-Length larger than the body', expect: 'reject', headers: [...keyHeader, ...ctype], body: json(validBody ?? {}), contentLength: '1000', incomplete: true })
    add({ category: 'huge', name: 'Content-Length of 10 GB', expect: 'reject', headers: [...keyHeader, ...ctype], body: json(validBody ?? {}), contentLength: '10737418240' })
    const bodyRead: Expect = op.body === undefined ? 'no-5xx' : 'reject'
    add({ category: 'deep-nesting', name: 'arrays 1,900 deep', expect: bodyRead, headers: [...keyHeader, ...ctype], body: Buffer.from('['.repeat(1900) + ']'.repeat(1900)) })
    add({ category: 'deep-nesting', name: 'objects 600 deep in a field', expect: bodyRead, headers: [...keyHeader, ...ctype], body: Buffer.from(`{"${Object.keys(validBody ?? { a: 1 })[0] ?? 'a'}":` + '{"a":'.repeat(600) + '1' + '}'.repeat(600) + '}') })
    add({ category: 'deep-nesting', name: 'arrays 30,000 deep', expect: bodyRead, headers: [...keyHeader, ...ctype], body: Buffer.from('['.repeat(30000) + ']'.repeat(30000)) })
    add({ category: 'smuggling', name: 'Transfer-Encoding and Content-Length', expect: 'reject', headers: [...keyHeader, ...ctype, ['transfer-encoding', 'chunked']], body: Buffer.from('0\r\n\r\nGET /v1/users/me HTTP/1.1\r\nHost: x\r\n\r\n') })
    add({ category: 'smuggling', name: 'two Content-Length headers', expect: 'reject', headers: [...keyHeader, ...ctype, ['content-length', '1']], body: json(validBody ?? {}) })
  }

  for (const p of op.pathParams) {
    for (const [label, value] of Object.entries({
      'not-a-uuid': 'not-a-uuid',
      sql: "1' OR '1'='1",
      nosql: '{"$ne":null}',
      traversal: '../../../../etc/passwd',
      nul: 'abc\u0000',
      long: 'a'.repeat(5000),
      unicode: '\u202E\uFEFF\u0000',
      'uuid-upper-nil': '00000000-0000-0000-0000-000000000000'
    })) {
      add({ category: label === 'traversal' ? 'path-traversal' : label === 'sql' ? 'injection-sql' : label === 'nosql' ? 'injection-nosql' : 'wrong-type', name: `${p}=${label}`, expect: 'reject', target: fill({ [p]: value }), headers: [...keyHeader, ...(withBody ? ctype : [])], ...(withBody ? { body: json(validBody ?? {}) } : {}) })
    }
    add({ category: 'path-traversal', name: `${p} raw ../`, expect: 'reject', target: op.path.replace(`{${p}}`, '..%2f..%2f..%2fetc%2fpasswd'), headers: [...keyHeader, ...(withBody ? ctype : [])], ...(withBody ? { body: json(validBody ?? {}) } : {}) })
    add({ category: 'wrong-type', name: `someone else's ${p}`, expect: 'reject', target: fill({ [p]: randomUUID() }), headers: [...keyHeader, ...(withBody ? ctype : [])], ...(withBody ? { body: json(validBody ?? {}) } : {}) })
  }
  for (const q of op.query) {
    for (const [label, value] of Object.entries({ negative: '-1', zero: '0', huge: '99999999999999999999', text: 'abc', sql: "' OR 1=1 --", nosql: '[$ne]=1', long: 'z'.repeat(3000), float: '1.5' })) {
      add({ category: /limit/.test(q.name) ? 'amounts' : 'wrong-type', name: `?${q.name}=${label}`, expect: certainlyInvalid(q.schema, value) ? 'reject' : 'no-5xx', target: `${target}?${q.name}=${encodeURIComponent(value)}` })
    }
    add({ category: 'injection-nosql', name: `?${q.name}[$gt]=`, expect: 'no-5xx', target: `${target}?${q.name}[$gt]=` })
    add({ category: 'wrong-type', name: `?${q.name} twice`, expect: 'no-5xx', target: `${target}?${q.name}=1&${q.name}=2` })
  }
  for (const h of op.headers) {
    for (const [label, value] of Object.entries({ empty: '', long: 'k'.repeat(300), control: 'a\u0001b', unicode: '密钥', quoted: '"abc"', 'bad-quoted': '"abc' })) {
      add({ category: 'header-injection', name: `${h.name}: ${label}`, expect: label === 'quoted' ? 'no-5xx' : 'reject', headers: [...(withBody ? ctype : [])], rawHeaderLines: [`${h.name}: ${value}`], ...(withBody ? { body: json(validBody ?? {}) } : {}) })
    }
  }

  // Headers and request lines, on every operation.
  const base = { headers: [...keyHeader, ...(withBody ? ctype : [])] as Array<[string, string]>, ...(withBody ? { body: json(validBody ?? {}) } : {}) }
  add({ ...base, category: 'header-injection', name: 'CRLF smuggled in a header value', expect: 'no-5xx', rawHeaderLines: ['X-Request-Id: abc\r\nX-User-Id: 00000000-0000-0000-0000-000000000000'] })
  add({ ...base, category: 'header-injection', name: 'bare LF in a header', expect: 'reject', rawHeaderLines: ['X-Request-Id: abc\nX-Injected: 1'] })
  add({ ...base, category: 'header-injection', name: 'NUL in a header value', expect: 'reject', rawHeaderLines: ['X-Request-Id: abc\u0000def'] })
  add({ ...base, category: 'header-injection', name: 'spoofed identity headers', expect: op.auth === 'required' ? 'no-5xx' : 'no-5xx', rawHeaderLines: ['X-User-Id: 00000000-0000-0000-0000-000000000001', 'X-Session-Id: 00000000-0000-0000-0000-000000000001', 'X-Forwarded-For: 10.0.0.1, 127.0.0.1'] })
  add({ ...base, category: 'header-injection', name: 'hostile traceparent and request id', expect: 'no-5xx', rawHeaderLines: ['traceparent: 00-' + '0'.repeat(32) + '-' + '0'.repeat(16) + '-01', 'tracestate: ' + 'k=v,'.repeat(200), "x-request-id: ' OR 1=1 --<script>"] })
  add({ ...base, category: 'header-injection', name: 'obsolete line folding', expect: 'reject', rawHeaderLines: ['X-Request-Id: abc', ' folded'] })
  add({ ...base, category: 'oversized-headers', name: 'one 20 kB header', expect: 'reject', rawHeaderLines: [`X-Pad: ${'p'.repeat(20_000)}`] })
  add({ ...base, category: 'oversized-headers', name: '500 headers', expect: 'reject', rawHeaderLines: Array.from({ length: 500 }, (_v, i) => `X-H${i}: ${'v'.repeat(30)}`) })
  add({ ...base, category: 'oversized-headers', name: '8 kB cookie', expect: 'no-5xx', rawHeaderLines: [`Cookie: ${'c=1; '.repeat(1600)}`] })
  add({ ...base, category: 'method', name: 'unknown method', expect: 'reject', method: 'FOO' })
  add({ ...base, category: 'method', name: 'TRACE', expect: 'reject', method: 'TRACE' })
  // A method the path does not serve (DELETE /v1/users/me exists: deleting an account is not a wrong method).
  const wrong = ['DELETE', 'PUT', 'PATCH', 'POST', 'GET'].find((m) => !op.pathMethods.includes(m)) ?? 'FOO'
  add({ ...base, category: 'method', name: 'wrong method', expect: 'reject', method: wrong })
  add({ ...base, category: 'path-traversal', name: 'dot segments', expect: 'reject', requestLine: `${op.method} ${target}/../../../../etc/passwd HTTP/1.1` })
  add({ ...base, category: 'path-traversal', name: 'absolute-form URL', expect: 'no-5xx', requestLine: `${op.method} https://evil.example${target} HTTP/1.1` })
  add({ ...base, category: 'path-traversal', name: 'NUL in the path', expect: 'reject', requestLine: `${op.method} ${target}%00 HTTP/1.1` })
  add({ ...base, category: 'wrong-type', name: 'request line without a version', expect: 'no-5xx', requestLine: `${op.method} ${target}` })
  if (op.auth !== 'public') {
    for (const [label, token] of Object.entries(forgedTokens())) {
      add({ ...base, category: 'forged-token', name: label, expect: 'reject', auth: `Bearer ${token}` })
    }
    add({ ...base, category: 'forged-token', name: 'Basic credentials', expect: 'reject', auth: 'Basic YWRtaW46YWRtaW4=' })
    add({ ...base, category: 'forged-token', name: 'Bearer without a token', expect: 'reject', auth: 'Bearer' })
    add({ ...base, category: 'forged-token', name: 'token with a CRLF', expect: 'reject', auth: 'Bearer abc\r\nX-User-Id: 1' })
    if (op.auth === 'required') add({ ...base, category: 'forged-token', name: 'no Authorization', expect: 'reject', auth: 'none' })
  }
  return cases
}

/** The exact bytes of a case. */
export function bytesOf (c: Case, host: string, authorization: string | undefined): Buffer {
  const lines = [c.requestLine ?? `${c.method} ${c.target} HTTP/1.1`, `Host: ${host}`, 'Connection: close']
  for (const [k, v] of c.headers) if (k !== 'content-length') lines.push(`${k}: ${v}`)
  for (const [k, v] of c.headers) if (k === 'content-length') lines.push(`Content-Length: ${v}`)
  const auth = c.auth === undefined || c.auth === 'valid' ? authorization : c.auth === 'none' ? undefined : c.auth
  if (auth !== undefined) lines.push(`Authorization: ${auth}`)
  if (c.rawHeaderLines !== undefined) lines.push(...c.rawHeaderLines)
  if (c.body !== undefined && c.contentLength !== null) lines.push(`Content-Length: ${c.contentLength ?? String(c.body.length)}`)
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), c.body ?? Buffer.alloc(0)])
}
