/**
 * What each IPC channel does once ipc.ts has checked the sender and the
 * payload. Plain Node: main.ts passes in the broker client, the demo launcher
 * and the configuration.
 */
import type { AppConfig, DemoInfo } from '../shared/ipc.js';
import type { BrokerClient } from './broker-client.js';
import type { ClientConfig } from './config.js';
import { normaliseBrokerUrl } from './config.js';
import type { DemoLauncher } from './demo.js';
import { BacklotError } from './errors.js';
import type { IpcHandlers } from './ipc.js';
import { IPC } from '../shared/ipc.js';

export interface HandlerDeps {
  config: ClientConfig;
  broker: BrokerClient;
  demo: DemoLauncher;
  /** Source checkout, launcher present, and no broker configured. */
  demoAvailable: boolean;
  version: string;
}


/** Builds the per-channel implementations. */
export function createHandlers(deps: HandlerDeps): IpcHandlers {
  let demoInfo: DemoInfo | null = null;
  /** The broker this client may talk to right now: the configured one, else the running local demo's. */
  const allowedBroker = (): string | null => deps.config.brokerUrl ?? (deps.demo.running ? demoInfo?.brokerUrl : undefined) ?? null;

  return {
    [IPC.appConfig]: (): Promise<AppConfig> =>
      Promise.resolve({ brokerUrl: allowedBroker(), demoAvailable: deps.demoAvailable, version: deps.version }),

    [IPC.demoStart]: async (): Promise<DemoInfo> => {
      if (!deps.demoAvailable) {
        throw new BacklotError(
          'ERR_NOT_FOUND',
          deps.config.brokerUrl !== null
            ? 'A broker is configured, so the local demo is not offered.'
            : 'The local demo is only available when Backlot runs from a source checkout (npm start).',
        );
      }
      demoInfo = await deps.demo.start();
      return demoInfo;
    },

    [IPC.authLogin]: async ({ brokerUrl, username, password }) => {
      const allowed = allowedBroker();
      if (allowed === null) {
        throw new BacklotError('ERR_FORBIDDEN', 'No broker is configured. Ask your studio IT for the Backlot installer, or start the local demo.');
      }
      // The renderer names the broker, but main decides where a password may go:
      // only to the configured broker (or the demo this app started), never to a
      // URL a compromised page supplies.
      const requested = normaliseBrokerUrl(brokerUrl);
      if (!requested.ok || requested.url !== allowed) {
        throw new BacklotError('ERR_FORBIDDEN', `This app is set up for the broker at ${allowed} and will not sign in anywhere else.`);
      }
      return deps.broker.login(allowed, { username, password });
    },

    [IPC.authLogout]: (): Promise<null> => {
      deps.broker.logout();
      return Promise.resolve(null);
    },

    [IPC.workstationsList]: () => deps.broker.listWorkstations(),

    [IPC.sessionRequest]: (request) => deps.broker.requestSession(request),
  };
}
