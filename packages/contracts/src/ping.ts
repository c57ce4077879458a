import { Type, type Static } from '@sinclair/typebox'

export const ServiceIdentity = Type.Object({
  name: Type.String({ description: 'Service name' }),
  version: Type.String({ description: 'Service version (semver)' })
})
export type ServiceIdentity = Static<typeof ServiceIdentity>

export const PingResponse = Type.Object({
  gateway: ServiceIdentity,
  auth: ServiceIdentity,
  user: ServiceIdentity,
  payment: ServiceIdentity
})
export type PingResponse = Static<typeof PingResponse>
