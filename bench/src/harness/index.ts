export * from './processes.js'
export * from './load.js'
export * from './machine.js'
export * from './report.js'
