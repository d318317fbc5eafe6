/**
 * The web client's broker API (tokens in memory, TOTP step, refresh) against the
 * real broker, run in-process on loopback with its own SQLite file and reached
 * with Node's real fetch; and the settings merge.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebBrokerApi } from '../../src/renderer/api/broker.js';
import { loadPrefs, withEffectiveSettings } from '../../src/renderer/api/settings.js';
import { recordingFetch, startInProcessBroker, TEST_PASSWORD, type Exchange, type InProcessBroker } from '../broker/helpers/in-process-broker.js';

describe('WebBrokerApi', () => {
  let broker: InProcessBroker;
  let totpSecret: string;
  /** What the client sent and got back: the API calls the global fetch, so the recorder (real fetch underneath) takes its place. */
  let calls: Exchange[];
  beforeEach(async () => {
    broker = await startInProcessBroker();
    totpSecret = (await broker.addUser({ username: 'ana', displayName: 'Ana', totp: true })).totpSecret!;
    await broker.addUser({ username: 'bo', displayName: 'Bo' });
    broker.addWorkstation({ id: 'ws-042', name: 'WS-042' }, ['ana', 'bo']);
    const wire = recordingFetch(globalThis.fetch);
    calls = wire.exchanges;
    vi.stubGlobal('fetch', wire.fetch);
  });
  afterEach(async () => {
    vi.unstubAllGlobals();
    await broker.close();
  });

  it('keeps the MFA token inside, completes the TOTP step and sends the access token after it', async () => {
    const api = new WebBrokerApi(broker.url);
    expect(await api.login('ana', TEST_PASSWORD)).toEqual({ status: 'mfa-required' });
    await expect(api.submitTotp(broker.wrongTotpCode(totpSecret))).rejects.toMatchObject({ code: 'ERR_BAD_TOTP' });
    const code = broker.totpCode(totpSecret);
    expect(await api.submitTotp(code)).toEqual({ username: 'ana', displayName: 'Ana' });
    expect(await api.listWorkstations()).toEqual([{ id: 'ws-042', name: 'WS-042', online: false, inUse: false }]);
    expect(calls.map((c) => c.path)).toEqual(['/api/login', '/api/login/totp', '/api/login/totp', '/api/workstations']);
    expect(calls.map((c) => c.status)).toEqual([200, 401, 200, 200]);
    expect(calls[2]!.body).toEqual({ mfaToken: calls[0]!.reply.mfaToken, code });
    expect(calls[3]!.authorization).toBe(`Bearer ${calls[2]!.reply.accessToken}`);
  });

  it('rotates the tokens shortly before the access token expires', async () => {
    let now = Date.now();
    const api = new WebBrokerApi(broker.url, () => now);
    await api.login('bo', TEST_PASSWORD);
    const first = calls[0]!.reply;
    now = first.expiresAt - 30_000; // inside the client's refresh margin, still valid at the broker
    expect(await api.listWorkstations()).toHaveLength(1);
    expect(calls.map((c) => c.path)).toEqual(['/api/login', '/api/token/refresh', '/api/workstations']);
    expect(calls[1]!.body).toEqual({ refreshToken: first.refreshToken });
    expect(calls[2]!.authorization).toBe(`Bearer ${calls[1]!.reply.accessToken}`);
    expect(calls[1]!.reply.accessToken).not.toBe(first.accessToken);
    expect(broker.refreshTokenState(first.refreshToken)).toBe('used');
  });

  it('says the broker is unreachable when it is gone', async () => {
    await broker.close();
    await expect(new WebBrokerApi(broker.url).login('bo', TEST_PASSWORD)).rejects.toMatchObject({ code: 'ERR_BROKER_UNREACHABLE' });
    expect(calls).toMatchObject([{ path: '/api/login', status: null }]);
  });
});

describe('effective settings', () => {
  const eff = (v: unknown, locked = false) => ({ value: v, locked, source: locked ? 'managed' : 'user' });
  const settings = {
    rememberCredentials: eff(true), clipboard: eff('both'), fileTransfer: eff(false), forceRelay: eff(false), autoUpdate: eff(false), updateUrl: eff(null),
    fullscreenOnConnect: eff(false), scaling: eff('native'), qualityPreset: eff('auto'), maxFps: eff(30, true), maxBitrateKbps: eff(20_000), showStats: eff(true, true),
  } as any;

  it('applies locked values read-only and unlocked ones as ceilings', () => {
    const base = loadPrefs(null);
    base.prefs.quality = { fps: 60, maxBitrateKbps: 50_000 };
    const r = withEffectiveSettings(base, settings);
    expect(r.prefs.quality).toEqual({ fps: 30, maxBitrateKbps: 20_000 });
    expect([...r.locked].sort()).toEqual(['fps', 'showStats']);
    expect(r.prefs.statsVisible).toBe(true);
    expect(r.prefs.viewMode).toBe('actual');
  });
});
