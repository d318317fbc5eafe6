import { WebBrokerApi, type BrokerApi } from './broker.js';

/** The web client talks to the broker that served it. */
export function createBrokerApi(): BrokerApi {
  return new WebBrokerApi(window.location.origin);
}
