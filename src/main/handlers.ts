/**
 * What each IPC channel does once ipc.ts has checked the sender and the
 * payload. Plain Node: main.ts passes in the services.
 */
import type { AppConfig, DemoInfo, LoginOutcome } from '../shared/ipc.js';
import { IPC } from '../shared/ipc.js';
import type { AuthService } from './auth.js';
import type { DemoLauncher } from './demo.js';
import { BacklotError } from './errors.js';
import { narrowGrant } from '../shared/grant-narrowing.js';
import type { IpcHandlers } from './ipc.js';
import type { OpenRequests } from './open-requests.js';
import { originOf } from './policy.js';
import type { ProfileService } from './profiles.js';
import type { SessionManager } from './sessions.js';

export interface HandlerDeps {
  profiles: ProfileService;
  auth: AuthService;
  sessions: SessionManager;
  openRequests: OpenRequests;
  demo: DemoLauncher;
  /** Source checkout, launcher present, and no broker configured. */
  demoAvailable: boolean;
  version: string;
  /** Shows the save dialog and writes the diagnostics file; null when cancelled. */
  exportDiagnostics: () => Promise<{ path: string } | null>;
}

/** Builds the per-channel implementations. */
export function createHandlers(deps: HandlerDeps): IpcHandlers {
  const { profiles, auth, sessions } = deps;
  let demoInfo: DemoInfo | null = null;
  /** The running local demo's broker, if this app started one. */
  const demoBroker = (): string | null => (deps.demo.running && demoInfo !== null ? originOf(demoInfo.brokerUrl) : null);

  /** Where a password and tokens may go: a broker the policy and profiles allow, or the demo this app started. */
  const checkBroker = (brokerUrl: string): string => {
    const policyError = profiles.policyError;
    if (policyError !== null) throw new BacklotError('ERR_FORBIDDEN', `Sign-in is blocked until your studio IT fixes its policy. ${policyError}`);
    const origin = originOf(brokerUrl);
    if (origin !== null && (origin === demoBroker() || profiles.isBrokerAllowed(origin))) return origin;
    const known = profiles.knownBrokers();
    throw new BacklotError(
      'ERR_FORBIDDEN',
      known.length === 0
        ? 'No broker is configured. Ask your studio IT for the Backlot installer, add a profile, or start the local demo.'
        : `This app is set up for ${known.join(', ')} and will not sign in anywhere else.`,
    );
  };

  /** Settings of the profile in use (the signed-in broker's), for narrowing grants. */
  const activeValues = () => {
    const broker = auth.broker.brokerUrl;
    const profile = broker === null ? undefined : profiles.findByBroker(broker);
    return profiles.values(profile?.id);
  };

  const afterSignIn = async (brokerUrl: string): Promise<void> => {
    const profile = profiles.findByBroker(brokerUrl);
    if (profile !== undefined && profile.source === 'user') await profiles.rememberLastProfile(profile.id);
  };

  return {
    [IPC.appConfig]: (): Promise<AppConfig> =>
      Promise.resolve({
        brokerUrl: profiles.defaultBrokerUrl() ?? demoBroker(),
        demoAvailable: deps.demoAvailable,
        version: deps.version,
        policyError: profiles.policyError,
      }),

    [IPC.demoStart]: async (): Promise<DemoInfo> => {
      if (!deps.demoAvailable) {
        throw new BacklotError(
          'ERR_NOT_FOUND',
          profiles.knownBrokers().length > 0
            ? 'A broker is configured, so the local demo is not offered.'
            : 'The local demo is only available when Backlot runs from a source checkout (npm start).',
        );
      }
      demoInfo = await deps.demo.start();
      return demoInfo;
    },

    [IPC.authLogin]: async ({ brokerUrl, username, password }): Promise<LoginOutcome> => {
      // The renderer names the broker, but main decides where a password may go:
      // never to a URL a compromised page supplies (main is not bound by the page's CSP).
      const origin = checkBroker(brokerUrl);
      sessions.closeAll();
      const outcome = await auth.login(origin, { username, password });
      if (outcome.status === 'ok') await afterSignIn(origin);
      return outcome;
    },

    [IPC.authTotp]: async ({ code }) => {
      const user = await auth.submitTotp(code);
      const broker = auth.broker.brokerUrl;
      if (broker !== null) await afterSignIn(broker);
      return user;
    },

    [IPC.authResume]: () => auth.resume(),

    [IPC.authLogout]: async (): Promise<null> => {
      await auth.logout();
      return null;
    },

    [IPC.credentialsStatus]: () => auth.status(),

    [IPC.settingsGet]: (query) => Promise.resolve(profiles.effective(query?.profileId)),

    [IPC.settingsSet]: async (update) => {
      const effective = await profiles.setSettings(update);
      await auth.onRememberChanged(effective.rememberCredentials.value);
      return effective;
    },

    [IPC.profilesList]: () => Promise.resolve(profiles.list()),

    [IPC.profilesSave]: (profile) => profiles.saveProfile(profile),

    [IPC.profilesRemove]: ({ id }) => profiles.removeProfile(id),

    [IPC.workstationsList]: () => auth.broker.listWorkstations(),

    [IPC.sessionRequest]: async (request) => narrowGrant(await auth.broker.requestSession(request), activeValues()),

    [IPC.sessionOpen]: ({ workstationId }): Promise<null> => {
      if (auth.broker.brokerUrl === null) throw new BacklotError('ERR_UNAUTHORIZED', 'You are not signed in. Please sign in again.');
      sessions.open(workstationId);
      return Promise.resolve(null);
    },

    [IPC.sessionState]: ({ workstationId, state }, { sender }): Promise<null> => {
      sessions.report(workstationId, state, sender);
      return Promise.resolve(null);
    },

    [IPC.openTake]: () => Promise.resolve(deps.openRequests.take()),

    [IPC.diagnosticsExport]: () => deps.exportDiagnostics(),
  };
}
