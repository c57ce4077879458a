// One style for every workspace package: neostandard (the `standard` rules the code is written to: no semicolons,
// a space before function parens) with its TypeScript support. Each package runs `eslint .` against this file.
import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    noJsx: true,
    // Build output, test and coverage reports, turbo's cache, dev secrets and recorded benchmark runs.
    ignores: [
      '**/dist/**',
      '**/.tap/**',
      '**/coverage/**',
      '**/.turbo/**',
      '**/.dev/**',
      'bench/results/**',
      // Built by the example's build: the pages' JavaScript and the SDK copied into the project.
      'examples/miniprogram/miniprogram/**/*.js',
      'examples/miniprogram/miniprogram/lib/**'
    ]
  }),
  {
    name: 'wxmp/typescript-idioms',
    rules: {
      // `void promise` marks a promise deliberately left running (and a Fastify reply chain), as ts-standard allows.
      'no-void': ['error', { allowAsStatement: true }],
      // A TypeBox schema and its Static type share one name by design; TypeScript itself rejects real redeclarations.
      '@typescript-eslint/no-redeclare': 'off'
    }
  }
]
