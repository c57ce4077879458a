export * from './config.js'
export * from './service-base.js'
export * from './ping.js'
export * from './run.js'
