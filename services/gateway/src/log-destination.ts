export { BatchedDestination, type BatchedDestinationOptions } from '@wxmp/core'
