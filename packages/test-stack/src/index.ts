export * from './stack.js'
export * from './wx-bridge.js'
