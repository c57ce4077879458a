export * from './subjects.js'
export * from './ping.js'
