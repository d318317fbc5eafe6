/**
 * What the desktop app's renderer learns from main before it shows anything:
 * the app config (and whether the IT policy is broken), whether a sign-in can
 * be remembered, the login profiles, the deep link that launched the app, and
 * the effective settings (with the selected profile's preferences).
 */
import type { BacklotApi } from '../../shared/bridge.js';
import type { AppConfig, CredentialsStatus, IpcReply } from '../../shared/ipc.js';
import type { EffectiveSettings, OpenRequest, ProfileList } from '../../shared/managed-policy.js';
import type { WindowMode } from './mode.js';
import { initialProfileId } from './profiles.js';

export interface ShellStartup {
  config: AppConfig;
  credentials: CredentialsStatus | null;
  profiles: ProfileList | null;
  settings: EffectiveSettings | null;
  /** The link or connection file that launched the app (main window only; taken once). */
  openRequest: OpenRequest | null;
  profileId: string | null;
}

/** The reply's value, or null when main refused (the UI falls back to defaults rather than not starting). */
function valueOf<T>(reply: IpcReply<T> | null): T | null {
  if (reply === null) return null;
  if (reply.ok) return reply.value;
  console.warn(`desktop shell refused a start-up call: ${reply.error.code}`);
  return null;
}

const settle = <T>(p: Promise<IpcReply<T>>): Promise<IpcReply<T> | null> => p.catch(() => null);

/**
 * Loads everything in parallel. An invalid policy stops here: nothing else
 * is asked for (sign-in is blocked until IT fixes the file). A session window
 * needs only the settings: main holds the sign-in, and open requests belong
 * to the main window (taking one here would steal it).
 */
export async function loadShellStartup(bridge: BacklotApi, mode: WindowMode): Promise<ShellStartup> {
  const config = valueOf(await settle(bridge.getConfig())) ?? {
    brokerUrl: null,
    demoAvailable: false,
    version: '',
    policyError: 'The Backlot app could not read its own configuration. Restart it; if this persists, export diagnostics for your studio IT.',
  };
  const empty: ShellStartup = { config, credentials: null, profiles: null, settings: null, openRequest: null, profileId: null };
  if (config.policyError !== null) return empty;
  if (mode.kind === 'session') return { ...empty, settings: valueOf(await settle(bridge.getSettings())) };

  const [credentials, profiles, openRequest] = await Promise.all([
    settle(bridge.credentialsStatus()).then(valueOf),
    settle(bridge.listProfiles()).then(valueOf),
    settle(bridge.takeOpenRequest()).then(valueOf),
  ]);
  const profileId = profiles ? initialProfileId(profiles, openRequest) : null;
  const settings = valueOf(await settle(bridge.getSettings(profileId ? { profileId } : undefined)));
  return { config, credentials, profiles, settings, openRequest, profileId };
}
