import { pingContract, type ServiceIdentity } from '@wxmp/contracts'
import { endpoint } from '@wxmp/nats'

/** `<name>.ping`: answers the service's name and version; the gateway's /v1/ping fans out to it. */
export function pingEndpoint (service: ServiceIdentity) {
  return endpoint(pingContract(service.name), async (_input, ctx) => {
    ctx.log.debug('ping')
    return { name: service.name, version: service.version }
  })
}
