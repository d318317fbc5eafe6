import { BridgeBrokerApi } from './bridge.js';
import { WebBrokerApi, type BrokerApi } from './broker.js';

/**
 * In Electron the preload exposes `window.backlot` and main talks to the
 * broker; the web client talks to the broker that served it.
 */
export function createBrokerApi(): BrokerApi {
  return window.backlot ? new BridgeBrokerApi(window.backlot, null) : new WebBrokerApi(window.location.origin);
}
