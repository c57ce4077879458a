export * from './subjects.js'
export * from './ping.js'
export * from './tokens.js'
