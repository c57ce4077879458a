import { PingRequest, type ServiceIdentity } from '@wxmp/contracts'
import { endpoint } from '@wxmp/nats'

/** `<name>.ping`: answers the service's name and version; the gateway's /v1/ping fans out to it. */
export function pingEndpoint (service: ServiceIdentity) {
  return endpoint({
    subject: `${service.name}.ping`,
    input: PingRequest,
    handler: async (_input, ctx): Promise<ServiceIdentity> => {
      ctx.log.debug('ping')
      return { name: service.name, version: service.version }
    }
  })
}
