/**
 * Auto-update through electron-updater, from the server the policy names
 * (`updateUrl`, a "generic" provider: a folder with latest*.yml and the
 * installers). Off unless the app is packaged, `autoUpdate` is true and an
 * https `updateUrl` is set; a studio turns it off by locking `autoUpdate` to
 * false. electron-updater checks the new build's code signature on Windows
 * and macOS before installing it.
 */
import type { Settings } from '../shared/managed-policy.js';

/** How often a running app checks again. */
export const UPDATE_CHECK_INTERVAL_MS = 4 * 60 * 60_000;

/** The part of electron-updater's `autoUpdater` used here. */
export interface UpdaterLike {
  autoDownload: boolean;
  autoInstallOnAppQuit: boolean;
  setFeedURL(options: { provider: 'generic'; url: string }): void;
  checkForUpdatesAndNotify(): Promise<unknown>;
}

export type UpdatePlan = { enabled: true; url: string } | { enabled: false; reason: string };

/** Decides whether and from where to update. Pure. */
export function updatePlan(settings: Pick<Settings, 'autoUpdate' | 'updateUrl'>, isPackaged: boolean): UpdatePlan {
  if (!isPackaged) return { enabled: false, reason: 'not a packaged build' };
  if (!settings.autoUpdate) return { enabled: false, reason: 'turned off (autoUpdate is false)' };
  if (settings.updateUrl === null) return { enabled: false, reason: 'no update server (updateUrl) in the policy' };
  let url: URL;
  try {
    url = new URL(settings.updateUrl);
  } catch {
    return { enabled: false, reason: 'updateUrl is not a URL' };
  }
  if (url.protocol !== 'https:') return { enabled: false, reason: 'updateUrl must be https://' };
  return { enabled: true, url: url.href };
}

export interface StartUpdatesOptions {
  plan: UpdatePlan;
  /** Loads electron-updater (lazily, so unpackaged runs and tests never load it). */
  load: () => Promise<UpdaterLike>;
  log: (message: string) => void;
  setInterval?: (fn: () => void, ms: number) => unknown;
}

/** Configures the updater and checks now and then periodically. Returns whether updates are on. */
export async function startUpdates(options: StartUpdatesOptions): Promise<boolean> {
  const { plan, log } = options;
  if (!plan.enabled) {
    log(`Auto-update off: ${plan.reason}`);
    return false;
  }
  const updater = await options.load();
  updater.setFeedURL({ provider: 'generic', url: plan.url });
  updater.autoDownload = true;
  updater.autoInstallOnAppQuit = true;
  const check = (): void => {
    updater.checkForUpdatesAndNotify().catch((err: unknown) => log(`Update check failed: ${err instanceof Error ? err.message : String(err)}`));
  };
  log(`Auto-update on: ${plan.url}`);
  check();
  (options.setInterval ?? setInterval)(check, UPDATE_CHECK_INTERVAL_MS);
  return true;
}
