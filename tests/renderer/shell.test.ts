/** The desktop-shell helpers: window mode, profiles, client policy, settings merge and start-up. */
import { describe, expect, it, vi } from 'vitest';
import { loadPrefs, withEffectiveSettings } from '../../src/renderer/api/settings.js';
import { clientPolicyFrom, hasRelay, intersectClipboard, narrowGrant, OPEN_CLIENT_POLICY } from '../../src/renderer/shell/client-policy.js';
import { windowMode } from '../../src/renderer/shell/mode.js';
import { brokerPinned, initialProfileId, loginPrefill, orderProfiles, profileForRequest, sameBroker } from '../../src/renderer/shell/profiles.js';
import { loadShellStartup } from '../../src/renderer/shell/startup.js';
import type { BacklotApi } from '../../src/shared/bridge.js';
import { DEFAULT_SETTINGS, SETTING_KEYS, type EffectiveSettings, type ListedProfile, type ProfileList, type SettingKey } from '../../src/shared/managed-policy.js';
import { grantWith } from './helpers.js';

const profile = (id: string, source: ListedProfile['source'], extra: Partial<ListedProfile> = {}): ListedProfile => ({
  id,
  name: id,
  brokerUrl: `https://${id}.studio.example`,
  source,
  locked: source !== 'user',
  ...extra,
});
const list = (profiles: ListedProfile[], extra: Partial<ProfileList> = {}): ProfileList => ({
  profiles,
  defaultProfileId: null,
  allowUserProfiles: true,
  allowedBrokers: null,
  ...extra,
});

/** Effective settings: the defaults, with some keys overridden and some locked by the managed policy. */
export function effective(values: Partial<typeof DEFAULT_SETTINGS> = {}, locked: SettingKey[] = []): EffectiveSettings {
  const out: Record<string, unknown> = {};
  for (const k of SETTING_KEYS) {
    out[k] = { value: k in values ? values[k] : DEFAULT_SETTINGS[k], locked: locked.includes(k), source: locked.includes(k) ? 'managed' : k in values ? 'user' : 'default' };
  }
  return out as EffectiveSettings;
}

describe('window mode', () => {
  it.each([
    ['', { kind: 'main' }],
    ['#session=ws-042', { kind: 'session', workstationId: 'ws-042' }],
    ['#session=WS%2E042', { kind: 'session', workstationId: 'WS.042' }],
    ['#session=', { kind: 'main' }],
    ['#session=..%2F..%2Fetc', { kind: 'main' }],
    ['#session=%E0%A4%A', { kind: 'main' }],
    ['#other=ws-1', { kind: 'main' }],
  ])('%s', (hash, mode) => {
    expect(windowMode(hash)).toEqual(mode);
  });
});

describe('profiles', () => {
  const studio = list([profile('mine', 'user'), profile('env', 'environment'), profile('london', 'managed'), profile('baked', 'installer'), profile('van', 'managed')]);

  it('lists the studio’s profiles first (managed, installer, launch script), the person’s own last', () => {
    expect(orderProfiles(studio).map((p) => p.id)).toEqual(['london', 'van', 'baked', 'env', 'mine']);
  });

  it('selects the link’s profile, else the policy default, else the first', () => {
    expect(initialProfileId(studio, null)).toBe('london');
    expect(initialProfileId({ ...studio, defaultProfileId: 'van' }, null)).toBe('van');
    expect(initialProfileId({ ...studio, defaultProfileId: 'gone' }, null)).toBe('london');
    const link = { profileId: 'baked', brokerUrl: 'https://baked.studio.example', workstationId: 'ws-042', username: null };
    expect(initialProfileId(studio, link)).toBe('baked');
    expect(profileForRequest(studio, { ...link, profileId: null, brokerUrl: 'https://VAN.studio.example:443' })).toBe('van');
    // A link for an allowed broker without a profile selects none, so its own broker is shown.
    expect(profileForRequest(studio, { ...link, profileId: null, brokerUrl: 'https://other.example' })).toBeNull();
    expect(initialProfileId(list([]), null)).toBeNull();
  });

  it('prefills broker and user name from the profile, the link’s user name first, never a password', () => {
    const p = profile('london', 'managed', { username: 'ana' });
    expect(loginPrefill(p, null, null, null)).toEqual({ brokerUrl: 'https://london.studio.example', username: 'ana' });
    const link = { profileId: 'london', brokerUrl: 'https://london.studio.example', workstationId: null, username: 'ben' };
    expect(loginPrefill(p, link, null, null)).toEqual({ brokerUrl: 'https://london.studio.example', username: 'ben' });
    expect(loginPrefill(null, { ...link, profileId: null, brokerUrl: 'https://x.example' }, 'https://default.example', null).brokerUrl).toBe('https://x.example');
    expect(loginPrefill(null, null, null, ['https://pinned.example'])).toEqual({ brokerUrl: 'https://pinned.example', username: '' });
    expect(Object.keys(loginPrefill(p, link, null, null))).not.toContain('password');
  });

  it('pins the broker field when the policy allows only some brokers', () => {
    expect(brokerPinned(null)).toBe(false);
    expect(brokerPinned(studio)).toBe(false);
    expect(brokerPinned({ ...studio, allowedBrokers: ['https://london.studio.example'] })).toBe(true);
  });

  it('compares brokers by origin', () => {
    expect(sameBroker('https://a.example', 'https://A.example:443/')).toBe(true);
    expect(sameBroker('https://a.example', 'https://a.example:8443')).toBe(false);
    expect(sameBroker('http://localhost:1', 'https://localhost:1')).toBe(false);
  });
});

describe('client policy', () => {
  it('intersects clipboard directions', () => {
    expect(intersectClipboard('both', 'host-to-client')).toBe('host-to-client');
    expect(intersectClipboard('client-to-host', 'host-to-client')).toBe('off');
    expect(intersectClipboard('both', 'both')).toBe('both');
    expect(intersectClipboard('off', 'both')).toBe('off');
  });

  it('narrows a grant: TURN only when relaying is forced, clipboard and file transfer to the stricter', () => {
    const grant = { ...grantWith({ clipboard: 'both', fileTransfer: true }), iceServers: [{ urls: ['stun:s:3478', 'turns:t:5349'] }, { urls: 'stun:x:1' }] };
    const out = narrowGrant(grant, { forceRelay: true, clipboard: 'client-to-host', fileTransfer: false });
    expect(out.iceServers).toEqual([{ urls: ['turns:t:5349'] }]);
    expect(out.policy.clipboard).toBe('client-to-host');
    expect(out.policy.fileTransfer).toBe(false);
    expect(narrowGrant(grant, OPEN_CLIENT_POLICY)).toEqual(grant);
    expect(hasRelay(out.iceServers)).toBe(true);
    expect(hasRelay([{ urls: 'stun:s:1' }])).toBe(false);
  });

  it('reads the session-shaping settings', () => {
    expect(clientPolicyFrom(null)).toEqual(OPEN_CLIENT_POLICY);
    expect(clientPolicyFrom(effective({ forceRelay: true, clipboard: 'off', fileTransfer: false }))).toEqual({ forceRelay: true, clipboard: 'off', fileTransfer: false });
  });
});

describe('settings merge with locked keys', () => {
  it('locks what the studio locked, and only that', () => {
    const r = withEffectiveSettings(loadPrefs(null), effective({ maxFps: 30, showStats: true, scaling: 'fill' }, ['maxFps', 'showStats', 'scaling']));
    expect([...r.locked].sort()).toEqual(['fps', 'scaling', 'showStats']);
    expect(r.prefs.quality.fps).toBe(30);
    expect(r.prefs.statsVisible).toBe(true);
    expect(r.prefs.viewMode).toBe('fill');
    expect(r.settings?.maxFps.locked).toBe(true);
    // A profile without the locks unlocks them again.
    expect([...withEffectiveSettings(r, effective()).locked]).toEqual([]);
  });

  it('a locked setting wins over the person’s remembered choice; an unlocked one is a default and a ceiling', () => {
    const base = loadPrefs(null);
    base.prefs.quality = { fps: 120, maxBitrateKbps: 5_000 };
    base.prefs.statsVisible = true;
    const locked = withEffectiveSettings(base, effective({ maxFps: 24, showStats: false }, ['maxFps', 'showStats']));
    expect(locked.prefs.quality).toEqual({ fps: 24, maxBitrateKbps: 5_000 });
    expect(locked.prefs.statsVisible).toBe(false);
    const unlocked = withEffectiveSettings(base, effective({ maxFps: 60 }));
    expect(unlocked.prefs.quality.fps).toBe(60);
    expect(unlocked.prefs.statsVisible).toBe(true);
  });

  it('applies the quality preset as defaults, and over the person’s choice when locked', () => {
    const base = loadPrefs(null);
    base.prefs.quality = { fps: 24 };
    const preset = withEffectiveSettings(base, effective({ qualityPreset: 'low-latency' }));
    expect(preset.prefs.quality).toEqual({ fps: 24, width: 1920, height: 1080, maxBitrateKbps: 10_000 });
    expect(preset.locked.size).toBe(0);
    const locked = withEffectiveSettings(base, effective({ qualityPreset: 'low-latency' }, ['qualityPreset']));
    expect(locked.prefs.quality).toMatchObject({ fps: 60, width: 1920, height: 1080 });
    expect(locked.locked.has('width')).toBe(true);
    // The bitrate ceiling still clamps a preset.
    expect(withEffectiveSettings(loadPrefs(null), effective({ qualityPreset: 'high-quality', maxBitrateKbps: 20_000 })).prefs.quality.maxBitrateKbps).toBe(20_000);
  });
});

describe('start-up', () => {
  const reply = <T,>(value: T) => Promise.resolve({ ok: true as const, value });
  /** The mocks, and the same object as the bridge the code under test sees. */
  function fakeBridge(over: Record<string, unknown> = {}) {
    const profiles = list([profile('london', 'managed')], { allowedBrokers: ['https://london.studio.example'] });
    const mocks = {
      getConfig: vi.fn(() => reply({ brokerUrl: 'https://london.studio.example', demoAvailable: false, version: '1', policyError: null })),
      credentialsStatus: vi.fn(() => reply({ canRemember: false, reason: 'basic-text' as const, message: 'No keyring.', remembered: false })),
      listProfiles: vi.fn(() => reply(profiles)),
      takeOpenRequest: vi.fn(() => reply({ profileId: 'london', brokerUrl: 'https://london.studio.example', workstationId: 'ws-042', username: null })),
      getSettings: vi.fn(() => reply(effective())),
      ...over,
    };
    return { mocks, bridge: mocks as unknown as BacklotApi };
  }

  it('loads profiles, credentials, the launching link and the profile’s settings', async () => {
    const { bridge, mocks } = fakeBridge();
    const s = await loadShellStartup(bridge, { kind: 'main' });
    expect(s.profileId).toBe('london');
    expect(s.openRequest?.workstationId).toBe('ws-042');
    expect(s.credentials?.message).toBe('No keyring.');
    expect(mocks.getSettings).toHaveBeenCalledWith({ profileId: 'london' });
  });

  it('asks nothing else when the policy is invalid', async () => {
    const { bridge, mocks } = fakeBridge({ getConfig: vi.fn(() => reply({ brokerUrl: null, demoAvailable: false, version: '1', policyError: 'policy.json: unknown key "clipbaord"' })) });
    const s = await loadShellStartup(bridge, { kind: 'main' });
    expect(s.config.policyError).toContain('clipbaord');
    expect(mocks.listProfiles).not.toHaveBeenCalled();
    expect(mocks.takeOpenRequest).not.toHaveBeenCalled();
  });

  it('in a session window, loads only the settings and leaves open requests to the main window', async () => {
    const { bridge, mocks } = fakeBridge();
    const s = await loadShellStartup(bridge, { kind: 'session', workstationId: 'ws-042' });
    expect(s.settings).not.toBeNull();
    expect(mocks.takeOpenRequest).not.toHaveBeenCalled();
    expect(mocks.listProfiles).not.toHaveBeenCalled();
  });

  it('blocks sign-in when main cannot even answer for its configuration', async () => {
    const s = await loadShellStartup(fakeBridge({ getConfig: vi.fn(() => Promise.reject(new Error('gone'))) }).bridge, { kind: 'main' });
    expect(s.config.policyError).toMatch(/could not read its own configuration/);
  });
});
