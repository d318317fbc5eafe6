/**
 * The renderer wired to the desktop shell (issue 6), in headless Chromium
 * against a real broker and host agent on Xvfb. The Electron main process
 * cannot run here (no Electron binary), so each page gets the thinnest
 * stand-in for it: a `window.backlot` that implements the BacklotApi by
 * calling the real broker over fetch (login, workstations, grants, with
 * main's forceRelay / clipboard narrowing) and answers settings, profiles and
 * open requests from the test's canned values. It records every call, so the
 * test can assert what the renderer asked of main. Screenshots go to
 * test-results/client-desktop-*.png.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoStack } from '../../src/demo/stack.js';
import { DEFAULT_SETTINGS, SETTING_KEYS, type EffectiveSettings, type ListedProfile, type OpenRequest, type ProfileList, type SettingKey } from '../../src/shared/managed-policy.js';
import { ARTIFACTS, startClientBrowser, startStack, waitForFrames } from './fixtures.js';

/** What the stand-in main process answers with. */
interface StandInConfig {
  policyError: string | null;
  brokerUrl: string | null;
  profiles: ProfileList;
  /** Per profile id ('' for none): the effective settings `getSettings` returns. */
  settings: Record<string, EffectiveSettings>;
  credentials: { canRemember: boolean; reason: string | null; message: string | null; remembered: boolean };
  openRequest: OpenRequest | null;
  /** Main holds the sign-in: a session window's stand-in signs in with these when first asked for a broker call. */
  heldSignIn: { brokerUrl: string; username: string; password: string } | null;
  /** ICE servers main's (stand-in) grant adds, e.g. an unreachable TURN relay. */
  extraIceServers: { urls: string[]; username?: string; credential?: string }[];
}

interface BridgeCall {
  name: string;
  payload: unknown;
}

/**
 * The stand-in, as page source: it must run before the app's own scripts and
 * must not depend on the test runner's transforms. It also wraps
 * RTCPeerConnection to record each connection's configuration.
 */
function standInScript(config: StandInConfig): string {
  return `(() => {
  const cfg = ${JSON.stringify(config)};
  const calls = (window.__bridgeCalls = []);
  window.__pcs = [];
  const NativePC = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePC {
    constructor(configuration, ...rest) {
      super(configuration, ...rest);
      const entry = { config: JSON.parse(JSON.stringify(configuration || {})), iceStates: [] };
      window.__pcs.push(entry);
      this.addEventListener('iceconnectionstatechange', () => entry.iceStates.push(this.iceConnectionState));
    }
  };
  let token = null;
  let broker = null;
  let mfaToken = null;
  const ok = (value) => ({ ok: true, value });
  const fail = (code, message) => ({ ok: false, error: { code, message } });
  const record = (name, payload) => {
    // A password never goes into the record, like main's redacted log.
    const safe = payload && typeof payload === 'object' && 'password' in payload ? { ...payload, password: '<redacted>' } : payload;
    calls.push({ name, payload: safe === undefined ? null : safe });
  };
  async function call(path, method, body) {
    const headers = { 'content-type': 'application/json' };
    if (token) headers.authorization = 'Bearer ' + token;
    let res;
    try {
      res = await fetch(new URL(path, broker), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      return fail('ERR_BROKER_UNREACHABLE', 'The broker cannot be reached.');
    }
    const json = await res.json().catch(() => null);
    if (!res.ok) return json && json.error ? fail(json.error.code, json.error.message) : fail('ERR_INTERNAL', 'HTTP ' + res.status);
    return ok(json);
  }
  async function signedIn() {
    if (token || !cfg.heldSignIn) return;
    broker = cfg.heldSignIn.brokerUrl;
    const r = await call('/api/login', 'POST', { username: cfg.heldSignIn.username, password: cfg.heldSignIn.password });
    if (r.ok && r.value.status === 'ok') token = r.value.accessToken;
  }
  const settingsFor = (id) => cfg.settings[id || ''] || cfg.settings[''];
  const DIRS = { off: [], 'host-to-client': ['in'], 'client-to-host': ['out'], both: ['in', 'out'] };
  const intersect = (a, b) => {
    const d = DIRS[a].filter((x) => DIRS[b].includes(x));
    return d.length === 2 ? 'both' : d.length === 0 ? 'off' : d[0] === 'in' ? 'host-to-client' : 'client-to-host';
  };
  const listeners = new Set();
  window.__fireOpenRequest = (request) => listeners.forEach((cb) => cb(request));
  let openRequest = cfg.openRequest;
  window.backlot = {
    async getConfig() { record('getConfig'); return ok({ brokerUrl: cfg.brokerUrl, demoAvailable: false, version: '0.1.0-test', policyError: cfg.policyError }); },
    async startDemo() { record('startDemo'); return fail('ERR_NOT_FOUND', 'no demo'); },
    async login(p) {
      record('login', p);
      broker = p.brokerUrl;
      const r = await call('/api/login', 'POST', { username: p.username, password: p.password });
      if (!r.ok) return r;
      if (r.value.status === 'mfa-required') { mfaToken = r.value.mfaToken; return ok({ status: 'mfa-required' }); }
      token = r.value.accessToken;
      return ok({ status: 'ok', user: { username: r.value.user.username, displayName: r.value.user.displayName } });
    },
    async submitTotp(p) {
      record('submitTotp', p);
      const r = await call('/api/login/totp', 'POST', { mfaToken, code: p.code });
      if (!r.ok) return r;
      token = r.value.accessToken;
      return ok({ username: r.value.user.username, displayName: r.value.user.displayName });
    },
    async resumeSession() { record('resumeSession'); return ok(null); },
    async logout() { record('logout'); token = null; return ok(null); },
    async credentialsStatus() { record('credentialsStatus'); return ok(cfg.credentials); },
    async getSettings(p) { record('getSettings', p); return ok(settingsFor(p && p.profileId)); },
    async setSettings(p) {
      record('setSettings', p);
      const current = settingsFor('');
      for (const k of Object.keys(p)) if (current[k].locked) return fail('ERR_FORBIDDEN', k + ' is managed by your studio.');
      for (const k of Object.keys(p)) current[k] = { value: p[k], locked: false, source: 'user' };
      return ok(current);
    },
    async listProfiles() { record('listProfiles'); return ok(cfg.profiles); },
    async saveProfile(p) { record('saveProfile', p); return fail('ERR_FORBIDDEN', 'not in this test'); },
    async removeProfile(p) { record('removeProfile', p); return fail('ERR_FORBIDDEN', 'not in this test'); },
    async listWorkstations() {
      record('listWorkstations');
      await signedIn();
      return call('/api/workstations', 'GET');
    },
    async requestSession(p) {
      record('requestSession', p);
      await signedIn();
      const r = await call('/api/sessions', 'POST', p);
      if (!r.ok) return r;
      // What main's narrowGrant does: only TURN when relaying is forced, clipboard intersected.
      const s = settingsFor('');
      const servers = r.value.iceServers.concat(cfg.extraIceServers);
      const iceServers = s.forceRelay.value
        ? servers.map((x) => ({ ...x, urls: [].concat(x.urls).filter((u) => /^turns?:/i.test(u)) })).filter((x) => x.urls.length > 0)
        : servers;
      return ok({ ...r.value, iceServers, policy: { ...r.value.policy, clipboard: intersect(r.value.policy.clipboard, s.clipboard.value) } });
    },
    async openSession(p) { record('openSession', p); return ok(null); },
    async reportSessionState(p) { record('reportSessionState', p); return ok(null); },
    async takeOpenRequest() { record('takeOpenRequest'); const r = openRequest; openRequest = null; return ok(r); },
    async exportDiagnostics() { record('exportDiagnostics'); return ok({ path: '/home/ana/Desktop/backlot-diagnostics.json' }); },
    onOpenRequest(cb) { listeners.add(cb); return () => listeners.delete(cb); },
  };
})();`;
}

/** Effective settings: defaults, some values changed, some locked by the managed policy. */
function effective(values: Partial<typeof DEFAULT_SETTINGS>, locked: SettingKey[]): EffectiveSettings {
  const out: Record<string, unknown> = {};
  for (const k of SETTING_KEYS) {
    out[k] = { value: k in values ? values[k] : DEFAULT_SETTINGS[k], locked: locked.includes(k), source: locked.includes(k) ? 'managed' : k in values ? 'managed' : 'default' };
  }
  return out as EffectiveSettings;
}

const profile = (p: Omit<ListedProfile, 'locked'>): ListedProfile => ({ ...p, locked: p.source !== 'user' });

describe('client with the desktop shell', () => {
  let stack: DemoStack;
  let browser: Browser;
  const pages: Page[] = [];

  /** The studio this test plays: two pinned brokers, clipboard one way, a locked frame-rate cap, no remembered sign-ins. */
  function studio(over: Partial<StandInConfig> = {}): StandInConfig {
    const other = 'http://127.0.0.2:9';
    const base = effective({ clipboard: 'host-to-client', maxFps: 24, rememberCredentials: false, showStats: true }, ['clipboard', 'maxFps', 'rememberCredentials', 'forceRelay']);
    return {
      policyError: null,
      brokerUrl: stack.url,
      profiles: {
        profiles: [
          profile({ id: 'home', name: 'My home setup', brokerUrl: stack.url, source: 'user' }),
          profile({ id: 'london', name: 'Studio London', brokerUrl: stack.url, username: stack.username, source: 'managed' }),
          profile({ id: 'vancouver', name: 'Studio Vancouver', brokerUrl: other, username: 'ben', source: 'installer', preferences: { maxFps: 30 } }),
        ],
        defaultProfileId: 'london',
        allowUserProfiles: false,
        allowedBrokers: [stack.url, other],
      },
      settings: { '': base, london: base, vancouver: effective({ maxFps: 30 }, ['maxFps']) },
      credentials: {
        canRemember: false,
        reason: 'policy',
        message: 'Your studio does not allow Backlot to remember sign-ins on this computer.',
        remembered: false,
      },
      openRequest: null,
      heldSignIn: null,
      extraIceServers: [],
      ...over,
    };
  }

  async function open(config: StandInConfig, hash = ''): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    pages.push(page);
    await page.addInitScript({ content: standInScript(config) });
    await page.goto(`${stack.url}/${hash}`);
    return page;
  }
  const calls = (page: Page) => page.evaluate(() => (window as unknown as { __bridgeCalls: BridgeCall[] }).__bridgeCalls.slice());
  const called = async (page: Page, name: string) => (await calls(page)).filter((c) => c.name === name).map((c) => c.payload);
  const held = () => ({ brokerUrl: stack.url, username: stack.username, password: stack.password });

  beforeAll(async () => {
    stack = await startStack();
    browser = await startClientBrowser();
  });

  afterAll(async () => {
    for (const p of pages) await p.close().catch(() => undefined);
    await browser?.close();
    await stack?.stop();
  });

  it('blocks sign-in with the reason when the IT policy is invalid', async () => {
    const page = await open(studio({ policyError: 'policy.json: "clipbaord" is not a setting (line 7).' }));
    const alert = page.getByTestId('policy-error');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('"clipbaord" is not a setting');
    expect(await page.getByLabel('Password').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Sign in' }).count()).toBe(0);
    expect((await calls(page)).map((c) => c.name)).not.toContain('listProfiles');
    await page.screenshot({ path: `${ARTIFACTS}/client-desktop-policy-error.png` });
  });

  it('offers the studio’s profiles first, pins the broker field and prefills from a profile', async () => {
    const page = await open(studio());
    const picker = page.getByLabel('Profile');
    await picker.waitFor();
    // The managed default is selected and fills the form; nothing is submitted.
    const server = page.getByLabel('Server');
    expect(await server.inputValue()).toBe(stack.url);
    expect(await server.getAttribute('readonly')).not.toBeNull();
    expect(await page.locator('#broker-managed').textContent()).toBe('Managed by your studio');
    expect(await page.getByLabel('Username').inputValue()).toBe(stack.username);
    expect(await picker.locator('option').allTextContents()).toEqual(['Studio London', 'Studio Vancouver', 'My home setup']);
    expect(await page.getByTestId('profile-managed').textContent()).toBe('Managed by your studio');
    expect(await page.getByTestId('credentials-note').textContent()).toContain('This computer can’t keep you signed in: Your studio does not allow');
    await page.screenshot({ path: `${ARTIFACTS}/client-desktop-login.png` });

    await picker.selectOption('vancouver');
    await expect.poll(() => server.inputValue()).toBe('http://127.0.0.2:9');
    expect(await page.getByLabel('Username').inputValue()).toBe('ben');
    // Choosing a profile applies its preferences: main is asked for that profile's settings.
    await expect.poll(() => called(page, 'getSettings')).toContainEqual({ profileId: 'vancouver' });
    expect(await called(page, 'login')).toEqual([]);
  });

  it('shows every locked setting read-only, “Managed by your studio”, and exports diagnostics', async () => {
    const page = await open(studio());
    await page.getByLabel('Password').fill(stack.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('[data-workstation="ws-042"]').waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByRole('menuitem', { name: 'Settings…' }).click();
    const dialog = page.getByRole('complementary', { name: 'Settings' });
    for (const key of ['clipboard', 'maxFps', 'rememberCredentials', 'forceRelay']) {
      const row = dialog.locator(`[data-setting="${key}"]`);
      expect(await row.getAttribute('data-locked'), key).toBe('true');
      expect(await row.locator('select, input').isDisabled(), key).toBe(true);
      expect(await row.locator('.managed-note').textContent(), key).toBe('Managed by your studio');
    }
    expect(await dialog.locator('[data-setting="maxFps"] select').inputValue()).toBe('24');
    expect(await dialog.locator('[data-setting="clipboard"] select').inputValue()).toBe('host-to-client');
    // An unlocked one stays the person's to change, through main.
    const scaling = dialog.locator('[data-setting="scaling"] select');
    expect(await scaling.isDisabled()).toBe(false);
    expect(await dialog.locator('[data-setting="scaling"] .managed-note').count()).toBe(0);
    await scaling.selectOption('fill');
    await expect.poll(() => called(page, 'setSettings')).toContainEqual({ scaling: 'fill' });
    await page.screenshot({ path: `${ARTIFACTS}/client-desktop-settings.png` });

    await dialog.getByRole('button', { name: 'Close settings' }).click();
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByRole('button', { name: 'Export diagnostics' }).click();
    await expect.poll(async () => (await page.getByTestId('diagnostics-status').textContent()) ?? '').toContain('Saved to /home/ana/Desktop/backlot-diagnostics.json');
  });

  it('opens the workstation of a launching link after the person signs in, and of one arriving later', async () => {
    const link: OpenRequest = { profileId: 'london', brokerUrl: stack.url, workstationId: 'ws-042', username: null };
    const page = await open(studio({ openRequest: link }));
    await page.getByLabel('Password').waitFor();
    expect(await page.getByLabel('Profile').inputValue()).toBe('london');
    expect(await page.getByLabel('Username').inputValue()).toBe(stack.username);
    // The link never signs in by itself: the password field is empty and nothing was sent.
    expect(await page.getByLabel('Password').inputValue()).toBe('');
    expect(await called(page, 'login')).toEqual([]);
    expect(await called(page, 'openSession')).toEqual([]);

    await page.getByLabel('Password').fill(stack.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => called(page, 'openSession'), { timeout: 15_000 }).toEqual([{ workstationId: 'ws-042' }]);
    // In the desktop app the main window keeps its list; the session has its own window.
    await page.locator('[data-workstation="ws-042"]').waitFor();

    await page.evaluate((r) => (window as unknown as { __fireOpenRequest(r: OpenRequest): void }).__fireOpenRequest(r), { ...link, workstationId: 'ws-042' });
    await expect.poll(async () => (await called(page, 'openSession')).length).toBe(2);
    // "Connect" in the list opens a window too.
    await page.locator('[data-workstation="ws-042"]').getByRole('button', { name: 'Connect' }).click();
    await expect.poll(async () => (await called(page, 'openSession')).length).toBe(3);
    expect(await page.locator('main.session').count()).toBe(0);
  });

  it('as the session window #session=ws-042, connects at once and reports its states in order', async () => {
    const page = await open(studio({ heldSignIn: held() }), '#session=ws-042');
    await waitForFrames(page);
    await expect.poll(() => page.locator('main.session').getAttribute('data-state')).toBe('streaming');
    // The locked overlay default applies, and the stream was asked for the studio's frame-rate cap.
    await page.getByTestId('stats-overlay').waitFor();
    await page.keyboard.press('Control+Alt+Shift+KeyQ');
    const panel = page.getByRole('complementary', { name: 'Stream settings' });
    // The stack runs at 30 fps: 24 can only come from the locked cap.
    await expect.poll(async () => (await panel.getByTestId('quality-applied').textContent()) ?? '', { timeout: 10_000 }).toContain('24 fps');
    expect(await panel.getByLabel('Frame rate').isDisabled()).toBe(true);
    expect(await panel.getByRole('region', { name: 'Managed by your studio' }).textContent()).toContain('Workstation to this computer');
    await page.screenshot({ path: `${ARTIFACTS}/client-desktop-session-window.png` });
    await panel.getByRole('button', { name: 'Close settings' }).click();

    await page.locator('.session-bar').getByRole('button', { name: 'Disconnect' }).click();
    const ended = page.locator('main.session-ended');
    await ended.waitFor();
    expect(await ended.getByRole('button', { name: 'Reconnect' }).count()).toBe(1);
    expect(await ended.getByRole('button', { name: 'Close' }).count()).toBe(1);
    expect(await page.locator('[data-workstation]').count()).toBe(0);
    await page.screenshot({ path: `${ARTIFACTS}/client-desktop-session-ended.png` });

    await ended.getByRole('button', { name: 'Reconnect' }).click();
    await expect.poll(() => page.locator('main.session').getAttribute('data-state'), { timeout: 20_000 }).toBe('streaming');
    const states = (await called(page, 'reportSessionState')) as { workstationId: string; state: string }[];
    expect(states.every((s) => s.workstationId === 'ws-042')).toBe(true);
    expect(states.map((s) => s.state)).toEqual(['connecting', 'connected', 'ended', 'connecting', 'connected']);
    // A session window never takes the main window's open requests nor signs in itself.
    const names = (await calls(page)).map((c) => c.name);
    expect(names).not.toContain('takeOpenRequest');
    expect(names).not.toContain('login');
    await page.close();
  });

  it('with forceRelay and no TURN server, fails with a clear message and never builds a direct connection', async () => {
    const relay = effective({ forceRelay: true }, ['forceRelay']);
    const page = await open(studio({ heldSignIn: held(), settings: { '': relay } }), '#session=ws-042');
    const failed = page.locator('main.session-ended[data-state="failed"]');
    await failed.waitFor({ timeout: 15_000 });
    expect(await failed.getByRole('alert').getAttribute('data-code')).toBe('ERR_NO_RELAY');
    expect(await failed.getByRole('alert').textContent()).toContain('relay (TURN) server');
    expect(await page.evaluate(() => (window as unknown as { __pcs: unknown[] }).__pcs.length)).toBe(0);
    const states = (await called(page, 'reportSessionState')) as { state: string }[];
    expect(states.map((s) => s.state)).toEqual(['connecting', 'failed']);
    await page.screenshot({ path: `${ARTIFACTS}/client-desktop-no-relay.png` });
    await page.close();
  });

  it('with forceRelay, asks the browser for relay-only ICE and does not connect directly when the relay is unreachable', async () => {
    const relay = effective({ forceRelay: true }, ['forceRelay']);
    // A TURN server nobody answers on: the only path allowed goes nowhere.
    const deadTurn = { urls: ['turn:127.0.0.1:9?transport=udp'], username: '0:ana', credential: 'nope' };
    const page = await open(studio({ heldSignIn: held(), settings: { '': relay }, extraIceServers: [deadTurn] }), '#session=ws-042');
    type Pc = { config: RTCConfiguration; iceStates: string[] };
    await expect.poll(() => page.evaluate(() => (window as unknown as { __pcs: Pc[] }).__pcs.length), { timeout: 15_000 }).toBeGreaterThan(0);
    const config = await page.evaluate(() => (window as unknown as { __pcs: Pc[] }).__pcs[0]!.config);
    expect(config.iceTransportPolicy).toBe('relay');
    expect(config.iceServers).toEqual([deadTurn]);
    const failed = page.locator('main.session-ended[data-state="failed"]');
    await failed.waitFor({ timeout: 40_000 });
    expect(await failed.getByRole('alert').textContent()).toContain('relay (TURN) server could not be reached');
    const iceStates = await page.evaluate(() => (window as unknown as { __pcs: Pc[] }).__pcs.flatMap((p) => p.iceStates));
    expect(iceStates).not.toContain('connected');
    expect(iceStates).not.toContain('completed');
    expect(await page.locator('main.session[data-state="streaming"]').count()).toBe(0);
    await page.close();
  });
});
