/**
 * The desktop app's settings list, rendered to markup: what a person sees in
 * Menu → Settings and in the stream panel's "Managed by your studio" list.
 */
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { ClientSettings } from '../../src/renderer/components/ClientSettings.js';
import type { BacklotApi } from '../../src/shared/bridge.js';
import { DEFAULT_SETTINGS, SETTING_KEYS, type EffectiveSettings, type SettingKey } from '../../src/shared/managed-policy.js';

/** The defaults, every key locked by the studio's policy when `locked`. */
function settings(locked: boolean): EffectiveSettings {
  const out: Record<string, unknown> = {};
  for (const k of SETTING_KEYS) out[k] = { value: DEFAULT_SETTINGS[k], locked, source: locked ? 'managed' : 'default' };
  return out as EffectiveSettings;
}

/** Never called while rendering to markup. */
const bridge = {} as BacklotApi;
const render = (s: EffectiveSettings, only?: 'locked') => renderToStaticMarkup(<ClientSettings bridge={bridge} settings={s} onSettings={() => undefined} only={only} />);
const shownKeys = (html: string) => [...html.matchAll(/data-setting="([^"]+)"/g)].map((m) => m[1] as SettingKey);

describe('client settings', () => {
  it('does not offer a file transfer toggle: file transfer does not exist yet (the policy key stays valid)', () => {
    const html = render(settings(false));
    expect(shownKeys(html)).not.toContain('fileTransfer');
    expect(html).not.toMatch(/file transfer/i);
    // Every other setting is still there.
    expect(shownKeys(html)).toEqual(SETTING_KEYS.filter((k) => k !== 'fileTransfer'));
  });

  it('does not list a locked fileTransfer among the studio’s managed settings either', () => {
    const html = render(settings(true), 'locked');
    expect(shownKeys(html)).not.toContain('fileTransfer');
    expect(html).not.toMatch(/file transfer/i);
    expect(shownKeys(html)).toContain('clipboard');
  });
});
