/** The web client's broker API (tokens in memory, TOTP step, refresh) and the settings merge. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebBrokerApi } from '../../src/renderer/api/broker.js';
import { loadPrefs, withEffectiveSettings } from '../../src/renderer/api/settings.js';

const TOKEN = (c: string) => c.repeat(32);
const ok = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
const err = (status: number, code: string) => new Response(JSON.stringify({ error: { code, message: code } }), { status });

afterEach(() => vi.unstubAllGlobals());

describe('WebBrokerApi', () => {
  it('keeps the MFA token inside, completes the TOTP step and sends the access token after it', async () => {
    const calls: { url: string; body: unknown; auth: string | null }[] = [];
    const replies = [
      ok({ status: 'mfa-required', method: 'totp', mfaToken: TOKEN('m'), expiresAt: 0 }),
      err(401, 'ERR_BAD_TOTP'),
      ok({ status: 'ok', accessToken: TOKEN('a'), refreshToken: TOKEN('r'), expiresAt: Date.now() + 600_000, user: { username: 'ana', displayName: 'Ana' } }),
      ok({ workstations: [] }),
    ];
    vi.stubGlobal('fetch', (url: URL, init: RequestInit) => {
      calls.push({ url: url.pathname, body: init.body ? JSON.parse(init.body as string) : null, auth: (init.headers as Record<string, string>).authorization ?? null });
      return Promise.resolve(replies.shift()!);
    });
    const api = new WebBrokerApi('http://broker.test');
    expect(await api.login('ana', 'pw')).toEqual({ status: 'mfa-required' });
    await expect(api.submitTotp('000000')).rejects.toMatchObject({ code: 'ERR_BAD_TOTP' });
    expect(await api.submitTotp('123456')).toEqual({ username: 'ana', displayName: 'Ana' });
    await api.listWorkstations();
    expect(calls.map((c) => c.url)).toEqual(['/api/login', '/api/login/totp', '/api/login/totp', '/api/workstations']);
    expect(calls[2]!.body).toEqual({ mfaToken: TOKEN('m'), code: '123456' });
    expect(calls[3]!.auth).toBe(`Bearer ${TOKEN('a')}`);
  });

  it('rotates the tokens shortly before the access token expires', async () => {
    const paths: string[] = [];
    const replies = [
      ok({ status: 'ok', accessToken: TOKEN('a'), refreshToken: TOKEN('r'), expiresAt: Date.now() + 10_000, user: { username: 'ana', displayName: 'Ana' } }),
      ok({ status: 'ok', accessToken: TOKEN('b'), refreshToken: TOKEN('s'), expiresAt: Date.now() + 900_000, user: { username: 'ana', displayName: 'Ana' } }),
      ok({ workstations: [] }),
    ];
    let lastAuth: string | undefined;
    vi.stubGlobal('fetch', (url: URL, init: RequestInit) => {
      paths.push(url.pathname);
      lastAuth = (init.headers as Record<string, string>).authorization;
      return Promise.resolve(replies.shift()!);
    });
    const api = new WebBrokerApi('http://broker.test');
    await api.login('ana', 'pw');
    await api.listWorkstations();
    expect(paths).toEqual(['/api/login', '/api/token/refresh', '/api/workstations']);
    expect(lastAuth).toBe(`Bearer ${TOKEN('b')}`);
  });

  it('says the broker is unreachable when fetch fails', async () => {
    vi.stubGlobal('fetch', () => Promise.reject(new TypeError('network')));
    await expect(new WebBrokerApi('http://broker.test').login('a', 'b')).rejects.toMatchObject({ code: 'ERR_BROKER_UNREACHABLE' });
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
