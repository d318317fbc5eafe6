/**
 * The person's client preferences (stream quality, overlay, view mode). In the
 * web client they live in localStorage; in the Electron client the studio can
 * lock some of them, and a locked value is shown read-only ("managed by your
 * studio"). Nothing secret is stored here.
 */
import { z } from 'zod';
import type { BacklotApi } from '../../shared/bridge.js';
import { QualityRequest } from '../../shared/control.js';
import type { EffectiveSettings } from '../../shared/managed-policy.js';

export const ClientPrefs = z.object({
  quality: QualityRequest.default({}),
  statsVisible: z.boolean().default(false),
  viewMode: z.enum(['fit', 'actual']).default('fit'),
});
export type ClientPrefs = z.infer<typeof ClientPrefs>;

/** Which quality fields the studio has locked (their values then come from the studio's profile). */
export type LockedSetting = keyof QualityRequest;

export interface PrefsState {
  prefs: ClientPrefs;
  locked: ReadonlySet<LockedSetting>;
}

const KEY = 'backlot.prefs.v1';

/** Loads the preferences; unreadable or invalid storage gives the defaults. */
export function loadPrefs(storage: Pick<Storage, 'getItem'> | null = globalThis.localStorage ?? null): PrefsState {
  let raw: unknown = {};
  try {
    raw = JSON.parse(storage?.getItem(KEY) ?? '{}');
  } catch {
    raw = {};
  }
  const parsed = ClientPrefs.safeParse(raw);
  // Locked values come from the Electron client's settings (loadEffectiveSettings); nothing is locked here.
  return { prefs: parsed.success ? parsed.data : ClientPrefs.parse({}), locked: new Set() };
}

export function savePrefs(prefs: ClientPrefs, storage: Pick<Storage, 'setItem'> | null = globalThis.localStorage ?? null): void {
  try {
    storage?.setItem(KEY, JSON.stringify(prefs));
  } catch {
    // Private windows and full storage: preferences simply do not persist.
  }
}

/**
 * Merges the Electron client's effective settings (user, installer and
 * managed policy) into the preferences: frame rate and bitrate ceilings,
 * the stats overlay and the view mode. A locked value wins over what the
 * person chose before and is shown read-only.
 */
export function withEffectiveSettings(state: PrefsState, settings: EffectiveSettings): PrefsState {
  const locked = new Set(state.locked);
  const quality = { ...state.prefs.quality };
  const take = <K extends 'fps' | 'maxBitrateKbps'>(key: K, setting: { value: number; locked: boolean }) => {
    if (setting.locked) {
      locked.add(key);
      quality[key] = setting.value;
    } else if (quality[key] === undefined || quality[key] > setting.value) {
      // An unlocked value is the person's own default and ceiling.
      quality[key] = setting.value;
    }
  };
  take('fps', settings.maxFps);
  take('maxBitrateKbps', settings.maxBitrateKbps);
  return {
    prefs: {
      ...state.prefs,
      quality,
      statsVisible: settings.showStats.locked ? settings.showStats.value : state.prefs.statsVisible || settings.showStats.value,
      viewMode: settings.scaling.value === 'native' ? 'actual' : 'fit',
    },
    locked,
  };
}

/** Loads the Electron client's effective settings through the bridge, when there is one. */
export async function loadEffectiveSettings(state: PrefsState, bridge: BacklotApi | undefined = globalThis.window?.backlot): Promise<PrefsState> {
  if (!bridge || typeof bridge.getSettings !== 'function') return state;
  const reply = await bridge.getSettings().catch(() => null);
  return reply?.ok ? withEffectiveSettings(state, reply.value) : state;
}

/** Saves the unlocked ceilings back to the Electron client's user settings (the rest stays in localStorage). */
export function saveEffectiveSettings(prefs: ClientPrefs, locked: ReadonlySet<LockedSetting>, bridge: BacklotApi | undefined = globalThis.window?.backlot): void {
  if (!bridge || typeof bridge.setSettings !== 'function') return;
  const update: { maxFps?: number; maxBitrateKbps?: number; showStats?: boolean } = { showStats: prefs.statsVisible };
  if (prefs.quality.fps !== undefined && !locked.has('fps')) update.maxFps = prefs.quality.fps;
  if (prefs.quality.maxBitrateKbps !== undefined && !locked.has('maxBitrateKbps')) update.maxBitrateKbps = prefs.quality.maxBitrateKbps;
  void bridge.setSettings(update).catch(() => undefined);
}
