import { useActorRef, useSelector } from '@xstate/react';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { BacklotApi } from '../shared/bridge.js';
import type { EffectiveSettings, OpenRequest, ProfileList } from '../shared/managed-policy.js';
import { BrokerError, type BrokerApi } from './api/broker.js';
import { loadPrefs, saveEffectiveSettings, savePrefs, withEffectiveSettings, type PrefsState } from './api/settings.js';
import type { DesktopMenu } from './components/AppMenu.js';
import { LoginView, type LoginShell } from './components/LoginView.js';
import { PolicyBlocked } from './components/PolicyBlocked.js';
import { SessionEnded } from './components/SessionEnded.js';
import { SessionView } from './components/SessionView.js';
import { WorkstationsView } from './components/WorkstationsView.js';
import { sessionMachine } from './session/machine.js';
import type { ClipboardPort, SessionWindows } from './session/types.js';
import { clientPolicyFrom } from './shell/client-policy.js';
import { useOpenRequests, useSessionStateReport, useShellStartup } from './shell/hooks.js';
import type { WindowMode } from './shell/mode.js';
import { loginPrefill, profileForRequest, orderProfiles, type LoginPrefill } from './shell/profiles.js';
import type { ShellStartup } from './shell/startup.js';

/** The system clipboard where the page may write it (secure contexts, Electron). */
const clipboard: ClipboardPort | null = typeof navigator !== 'undefined' && navigator.clipboard ? navigator.clipboard : null;

const MAIN_WINDOW: WindowMode = { kind: 'main' };

/**
 * The client. With the desktop shell (`window.backlot`) it first asks main
 * for its configuration, profiles and settings; without it (the web client)
 * it starts at once, exactly as before the shell existed.
 */
export function App({ broker, shell, mode }: { broker: BrokerApi; shell: BacklotApi | null; mode: WindowMode }) {
  if (!shell) return <Client broker={broker} shell={null} startup={null} mode={MAIN_WINDOW} />;
  return <DesktopApp broker={broker} shell={shell} mode={mode} />;
}

function DesktopApp({ broker, shell, mode }: { broker: BrokerApi; shell: BacklotApi; mode: WindowMode }) {
  const startup = useShellStartup(shell, mode);
  if (startup === null) {
    return (
      <main className="login" aria-busy="true">
        <div className="spinner" role="status" aria-label="Starting" />
      </main>
    );
  }
  if (startup.config.policyError !== null) return <PolicyBlocked bridge={shell} message={startup.config.policyError} />;
  return <Client broker={broker} shell={shell} startup={startup} mode={mode} />;
}

/** The sign-in form's profile state (desktop only). */
interface LoginState {
  profiles: ProfileList | null;
  profileId: string | null;
  prefill: LoginPrefill;
  prefillKey: number;
}

function initialLogin(startup: ShellStartup | null): LoginState {
  const profiles = startup?.profiles ?? null;
  const profile = profiles ? (orderProfiles(profiles).find((p) => p.id === startup?.profileId) ?? null) : null;
  return {
    profiles,
    profileId: profile?.id ?? null,
    prefill: loginPrefill(profile, startup?.openRequest ?? null, startup?.config.brokerUrl ?? null, profiles?.allowedBrokers ?? null),
    prefillKey: 0,
  };
}

function Client({ broker, shell, startup, mode }: { broker: BrokerApi; shell: BacklotApi | null; startup: ShellStartup | null; mode: WindowMode }) {
  const [prefs, setPrefs] = useState<PrefsState>(() => (startup?.settings ? withEffectiveSettings(loadPrefs(), startup.settings) : loadPrefs()));
  const [login, setLogin] = useState<LoginState>(() => initialLogin(startup));
  const sessionWindow = mode.kind === 'session' ? mode.workstationId : null;

  const windows = useMemo<SessionWindows | null>(
    () =>
      shell && mode.kind === 'main'
        ? {
            open: async (workstationId) => {
              const reply = await shell.openSession({ workstationId });
              if (!reply.ok) throw new BrokerError(reply.error.code, reply.error.message);
            },
          }
        : null,
    [shell, mode],
  );
  const actor = useActorRef(sessionMachine, {
    input: {
      broker,
      clipboard,
      quality: prefs.prefs.quality,
      fullColour: prefs.prefs.fullColour,
      resume: shell !== null && mode.kind === 'main',
      sessionWindow,
      windows,
      clientPolicy: clientPolicyFrom(prefs.settings),
    },
  });
  const view = useSelector(actor, (s) => (s.hasTag('login') ? 'login' : s.hasTag('session') ? 'session' : 'workstations'));
  const over = useSelector(actor, (s) => s.hasTag('over'));
  const quality = useSelector(actor, (s) => s.context.quality);
  const fullColour = useSelector(actor, (s) => s.context.fullColour);
  useSessionStateReport(actor, shell, sessionWindow);

  // Remember the person's quality choices (and full colour) for the next session.
  const prefsRef = useRef(prefs);
  prefsRef.current = prefs;
  useEffect(() => {
    const p = prefsRef.current;
    if (p.prefs.quality === quality && p.prefs.fullColour === fullColour) return;
    const next = { ...p.prefs, quality, fullColour };
    savePrefs(next);
    saveEffectiveSettings(next, p.locked);
    setPrefs({ ...p, prefs: next });
  }, [quality, fullColour]);

  /** New effective settings (a profile chosen, a setting changed): preferences, quality defaults and the session's client policy follow. */
  const applySettings = useCallback(
    (settings: EffectiveSettings) => {
      const next = withEffectiveSettings(prefsRef.current, settings);
      setPrefs(next);
      actor.send({ type: 'quality.defaults', request: next.prefs.quality });
      actor.send({ type: 'client.policy', policy: clientPolicyFrom(settings) });
    },
    [actor],
  );

  const loginRef = useRef(login);
  loginRef.current = login;
  const selectProfile = useCallback(
    (profileId: string | null, request: OpenRequest | null = null) => {
      const list = loginRef.current.profiles;
      // A link picks its profile by id, else by its broker (main already checked both against the policy).
      const id = request && list ? profileForRequest(list, request) : profileId;
      const profile = list ? (orderProfiles(list).find((p) => p.id === id) ?? null) : null;
      setLogin((l) => ({
        ...l,
        profileId: profile?.id ?? null,
        prefill: loginPrefill(profile, request, startup?.config.brokerUrl ?? null, l.profiles?.allowedBrokers ?? null),
        prefillKey: l.prefillKey + 1,
      }));
      // The profile's own preferences (quality, scaling, overlay) apply from now on.
      void shell?.getSettings(profile ? { profileId: profile.id } : undefined).then((reply) => reply.ok && applySettings(reply.value));
    },
    [shell, startup, applySettings],
  );

  // A link or connection file: select its profile; the machine connects once signed in (never signing in by itself).
  const onOpenRequest = useCallback(
    (request: OpenRequest) => {
      if (actor.getSnapshot().hasTag('login')) selectProfile(request.profileId, request);
      actor.send({ type: 'open.request', workstationId: request.workstationId, brokerUrl: request.brokerUrl });
    },
    [actor, selectProfile],
  );
  useOpenRequests(mode.kind === 'main' ? shell : null, onOpenRequest);
  useEffect(() => {
    // The one that launched the app was taken at start-up (its profile is already selected).
    const request = startup?.openRequest;
    if (request && mode.kind === 'main') actor.send({ type: 'open.request', workstationId: request.workstationId, brokerUrl: request.brokerUrl });
  }, [actor, startup, mode]);

  const desktop = useMemo<DesktopMenu | null>(() => (shell ? { bridge: shell, settings: prefs.settings, onSettings: applySettings } : null), [shell, prefs.settings, applySettings]);
  const loginShell: LoginShell | null =
    shell && startup
      ? {
          bridge: shell,
          startup,
          profiles: login.profiles,
          profileId: login.profileId,
          prefill: login.prefill,
          prefillKey: login.prefillKey,
          onSelectProfile: (id) => selectProfile(id),
          onProfiles: (profiles) => setLogin((l) => ({ ...l, profiles })),
        }
      : null;

  // A session window never shows the list or the sign-in form: main holds the sign-in.
  if (sessionWindow !== null) return over || view !== 'session' ? <SessionEnded actor={actor} /> : <SessionView actor={actor} prefs={prefs} onPrefs={setPrefs} desktop={desktop} />;
  switch (view) {
    case 'login':
      return <LoginView actor={actor} shell={loginShell} />;
    case 'session':
      return <SessionView actor={actor} prefs={prefs} onPrefs={setPrefs} desktop={desktop} />;
    case 'workstations':
      return <WorkstationsView actor={actor} desktop={desktop} />;
  }
}
