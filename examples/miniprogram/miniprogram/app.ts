import { WxmpClient } from './lib/wxmp-sdk/index'
import { config } from './config'

export interface AppOption {
  /** The one client of the gateway: its single-flight login and refresh hold within one instance. */
  api: WxmpClient
}

App<AppOption>({
  api: new WxmpClient({ baseUrl: config.gatewayUrl })
})
