export * from './stack.js'
export * from './wx-bridge.js'
export { selfSignedCert } from '@wxmp/testing'
