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
import { PRESET_QUALITY } from '../shell/client-policy.js';

export const ClientPrefs = z.object({
  quality: QualityRequest.default({}),
  /** "Full colour (4:4:4)" in the stream settings: asked for wherever the studio's policy allows it. */
  fullColour: z.boolean().default(false),
  statsVisible: z.boolean().default(false),
  /** fit: letterbox; fill: crop to the window; actual: 1:1 pixels, scrolling (the settings' `native`). */
  viewMode: z.enum(['fit', 'fill', 'actual']).default('fit'),
});
export type ClientPrefs = z.infer<typeof ClientPrefs>;

/** Which quality fields the studio has locked (their values then come from the studio's profile). */
export type LockedSetting = keyof QualityRequest | 'showStats' | 'scaling';

export interface PrefsState {
  prefs: ClientPrefs;
  locked: ReadonlySet<LockedSetting>;
  /** The Electron client's effective settings (every key, with `locked` and `source`); null in the web client. */
  settings: EffectiveSettings | null;
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
  // Locked values come from the Electron client's settings (withEffectiveSettings); nothing is locked here.
  return { prefs: parsed.success ? parsed.data : ClientPrefs.parse({}), locked: new Set(), settings: null };
}

export function savePrefs(prefs: ClientPrefs, storage: Pick<Storage, 'setItem'> | null = globalThis.localStorage ?? null): void {
  try {
    storage?.setItem(KEY, JSON.stringify(prefs));
  } catch {
    // Private windows and full storage: preferences simply do not persist.
  }
}

const VIEW_MODES = { fit: 'fit', fill: 'fill', native: 'actual' } as const;

/**
 * Merges the Electron client's effective settings (user, installer and
 * managed policy) into the preferences: the quality preset's defaults, frame
 * rate and bitrate ceilings, the stats overlay and the view mode. A locked
 * value wins over what the person chose before and is shown read-only.
 */
export function withEffectiveSettings(state: PrefsState, settings: EffectiveSettings): PrefsState {
  // Locks come from these settings alone: a profile switch may unlock what another profile locked.
  const locked = new Set<LockedSetting>();
  const quality = { ...state.prefs.quality };
  // The preset fills what the person has not chosen; a locked preset overrides their choice.
  const preset = PRESET_QUALITY[settings.qualityPreset.value];
  for (const key of Object.keys(preset) as (keyof typeof preset)[]) {
    if (settings.qualityPreset.locked) locked.add(key);
    if (settings.qualityPreset.locked || quality[key] === undefined) Object.assign(quality, { [key]: preset[key] });
  }
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
  if (settings.showStats.locked) locked.add('showStats');
  if (settings.scaling.locked) locked.add('scaling');
  return {
    prefs: {
      ...state.prefs,
      quality,
      statsVisible: settings.showStats.locked ? settings.showStats.value : state.prefs.statsVisible || settings.showStats.value,
      viewMode: VIEW_MODES[settings.scaling.value],
    },
    locked,
    settings,
  };
}

/** Saves the unlocked ceilings back to the Electron client's user settings (the rest stays in localStorage). */
export function saveEffectiveSettings(prefs: ClientPrefs, locked: ReadonlySet<LockedSetting>, bridge: BacklotApi | undefined = globalThis.window?.backlot): void {
  if (!bridge || typeof bridge.setSettings !== 'function') return;
  const update: { maxFps?: number; maxBitrateKbps?: number; showStats?: boolean } = {};
  // A locked key is refused by main (ERR_FORBIDDEN) and would fail the whole update.
  if (!locked.has('showStats')) update.showStats = prefs.statsVisible;
  if (prefs.quality.fps !== undefined && !locked.has('fps')) update.maxFps = prefs.quality.fps;
  if (prefs.quality.maxBitrateKbps !== undefined && !locked.has('maxBitrateKbps')) update.maxBitrateKbps = prefs.quality.maxBitrateKbps;
  void bridge.setSettings(update).catch(() => undefined);
}
