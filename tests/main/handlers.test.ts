import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IPC, type IpcChannel } from '../../src/shared/ipc.js';
import { AuthService } from '../../src/main/auth.js';
import { DemoLauncher } from '../../src/main/demo.js';
import { createHandlers } from '../../src/main/handlers.js';
import { registerIpc, type InvokeEventLike, type IpcMainLike } from '../../src/main/ipc.js';
import { OpenRequests } from '../../src/main/open-requests.js';
import { NO_POLICIES, type Policies } from '../../src/main/policy.js';
import { ProfileService } from '../../src/main/profiles.js';
import { SessionManager } from '../../src/main/sessions.js';
import { CredentialVault } from '../../src/main/vault.js';
import { ACCESS_TOKEN, GOOD_PASSWORD, GOOD_TOTP, GRANT, WORKSTATIONS, startFakeBroker, type FakeBroker } from './fake-broker.js';
import { aesSafeStorage } from './fake-safe-storage.js';

const ourContents = {};
const ours: InvokeEventLike = { sender: ourContents, senderFrame: { url: 'app://backlot/index.html', parent: null } };

/** A demo "launcher" that prints the ready line for the given broker and then idles. */
function fakeDemo(brokerUrl: string): DemoLauncher {
  const line = JSON.stringify({ brokerUrl, username: 'demo', password: 'demo-password' });
  return new DemoLauncher({
    spawn,
    command: { command: process.execPath, args: ['-e', `console.log(${JSON.stringify(line)}); setInterval(() => {}, 1000)`], cwd: process.cwd() },
    env: process.env,
    warn: () => undefined,
  });
}

/** Main's IPC stack as main.ts wires it, minus Electron: real services, a temp user-data folder, fake windows. */
async function wire(options: { brokerUrl: string | null; demo: DemoLauncher; demoAvailable: boolean; policies?: Policies }) {
  const dir = mkdtempSync(join(tmpdir(), 'backlot-handlers-'));
  dirs.push(dir);
  const listeners = new Map<string, (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>>();
  const ipcMain: IpcMainLike = { handle: (c, l) => void listeners.set(c, l), removeHandler: (c) => void listeners.delete(c) };
  const warn = vi.fn();
  const profiles = await ProfileService.open({ policies: options.policies ?? NO_POLICIES, userDataDir: dir, fs: fsp, environmentBroker: options.brokerUrl, warn });
  const vault = new CredentialVault({
    safeStorage: aesSafeStorage(),
    platform: 'linux',
    path: join(dir, 'credentials.bin'),
    fs: fsp,
    allowed: () => ({ allowed: profiles.values().rememberCredentials, byPolicy: false }),
    warn,
  });
  const windows: (EventEmitter & { webContents: object; close: () => void; focus: () => void; isDestroyed: () => boolean; url: string })[] = [];
  const sessions = new SessionManager({
    createWindow: (_id, url) => {
      const win = Object.assign(new EventEmitter(), { webContents: {}, url, focus: vi.fn(), isDestroyed: () => false, close: () => win.emit('closed') });
      windows.push(win);
      return win;
    },
    log: vi.fn(),
  });
  const auth = new AuthService({ vault, isBrokerAllowed: (b) => profiles.isBrokerAllowed(b), onSignedOut: () => sessions.closeAll(), warn });
  const openRequests = new OpenRequests({
    context: { findProfile: (id) => profiles.find(id), findProfileByBroker: (o) => profiles.findByBroker(o), isBrokerAllowed: (b) => profiles.isBrokerAllowed(b) },
    fs: fsp,
    platform: 'linux',
    deliver: () => true,
    log: vi.fn(),
  });
  registerIpc({
    ipcMain,
    handlers: createHandlers({
      profiles,
      auth,
      sessions,
      openRequests,
      demo: options.demo,
      demoAvailable: options.demoAvailable,
      version: '9.9.9',
      exportDiagnostics: () => Promise.resolve(null),
    }),
    isOurWebContents: (sender) => sender === ourContents || sessions.isSessionContents(sender),
    warn,
  });
  const invoke = (channel: IpcChannel, ...args: unknown[]) => listeners.get(channel)!(ours, ...args);
  const invokeFrom = (sender: object, channel: IpcChannel, ...args: unknown[]) =>
    listeners.get(channel)!({ sender, senderFrame: { url: 'app://backlot/index.html#session=ws-042', parent: null } }, ...args);
  return { invoke, invokeFrom, auth, windows, sessions, dir, openRequests };
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('IPC → handlers → broker client, against a real HTTP broker', () => {
  let broker: FakeBroker;
  let demo: DemoLauncher;
  beforeEach(async () => {
    broker = await startFakeBroker();
    demo = fakeDemo(broker.url);
  });
  afterEach(async () => {
    await demo.stop();
    await broker.close();
  });

  it('a valid login reaches the configured broker; the renderer gets names, never the token', async () => {
    const { invoke } = await wire({ brokerUrl: broker.url, demo, demoAvailable: false });
    const reply = await invoke(IPC.authLogin, { brokerUrl: `${broker.url}/`, username: 'ana', password: GOOD_PASSWORD });
    expect(reply).toEqual({ ok: true, value: { status: 'ok', user: { username: 'ana', displayName: 'Ana Artist' } } });
    expect(broker.requests).toHaveLength(1);
    expect(JSON.parse(broker.requests[0]!.body)).toEqual({ username: 'ana', password: GOOD_PASSWORD });

    expect(await invoke(IPC.workstationsList)).toEqual({ ok: true, value: WORKSTATIONS });
    const grant = await invoke(IPC.sessionRequest, { workstationId: 'ws-042' });
    expect(grant).toEqual({ ok: true, value: GRANT });
    expect(JSON.stringify([reply, grant])).not.toContain(ACCESS_TOKEN);

    expect(JSON.stringify([reply, grant])).not.toContain('ref_');
    expect(await invoke(IPC.authLogout)).toEqual({ ok: true, value: null });
    expect(await invoke(IPC.workstationsList)).toMatchObject({ ok: false, error: { code: 'ERR_UNAUTHORIZED' } });
  });

  it('refuses to send a password to a broker other than the configured one', async () => {
    const { invoke } = await wire({ brokerUrl: broker.url, demo, demoAvailable: false });
    const reply = await invoke(IPC.authLogin, { brokerUrl: 'https://evil.example', username: 'ana', password: GOOD_PASSWORD });
    expect(reply).toMatchObject({ ok: false, error: { code: 'ERR_FORBIDDEN', message: expect.stringContaining(broker.url) as unknown } });
    expect(broker.requests).toHaveLength(0);
  });

  it('reports the configuration without secrets', async () => {
    const { invoke } = await wire({ brokerUrl: broker.url, demo, demoAvailable: false });
    expect(await invoke(IPC.appConfig)).toEqual({ ok: true, value: { brokerUrl: broker.url, demoAvailable: false, version: '9.9.9', policyError: null } });
  });

  it('with nothing configured, starts the demo and then allows exactly its broker', async () => {
    const { invoke } = await wire({ brokerUrl: null, demo, demoAvailable: true });
    const before = await invoke(IPC.authLogin, { brokerUrl: broker.url, username: 'demo', password: GOOD_PASSWORD });
    expect(before).toMatchObject({ ok: false, error: { code: 'ERR_FORBIDDEN' } });

    expect(await invoke(IPC.demoStart)).toEqual({ ok: true, value: { brokerUrl: broker.url, username: 'demo', password: 'demo-password' } });
    expect(await invoke(IPC.appConfig)).toMatchObject({ ok: true, value: { brokerUrl: broker.url, demoAvailable: true } });
    expect(await invoke(IPC.authLogin, { brokerUrl: broker.url, username: 'demo', password: GOOD_PASSWORD })).toMatchObject({ ok: true });
  });

  it('does not offer the demo where it is unavailable', async () => {
    const { invoke } = await wire({ brokerUrl: null, demo, demoAvailable: false });
    expect(await invoke(IPC.demoStart)).toMatchObject({ ok: false, error: { code: 'ERR_NOT_FOUND' } });
    expect(demo.running).toBe(false);
  });

  it('MFA: the password step answers mfa-required and the code completes it', async () => {
    const { invoke } = await wire({ brokerUrl: broker.url, demo, demoAvailable: false });
    expect(await invoke(IPC.authLogin, { brokerUrl: broker.url, username: 'mfa-user', password: GOOD_PASSWORD })).toEqual({ ok: true, value: { status: 'mfa-required' } });
    expect(await invoke(IPC.authTotp, { code: GOOD_TOTP })).toEqual({ ok: true, value: { username: 'mfa-user', displayName: 'Ana Artist' } });
    expect(await invoke(IPC.workstationsList)).toEqual({ ok: true, value: WORKSTATIONS });
  });

  it('one window per session, state reports only from that window, all closed on sign-out', async () => {
    const { invoke, invokeFrom, windows, sessions } = await wire({ brokerUrl: broker.url, demo, demoAvailable: false });
    expect(await invoke(IPC.sessionOpen, { workstationId: 'ws-042' })).toMatchObject({ ok: false, error: { code: 'ERR_UNAUTHORIZED' } });
    await invoke(IPC.authLogin, { brokerUrl: broker.url, username: 'ana', password: GOOD_PASSWORD });
    expect(await invoke(IPC.sessionOpen, { workstationId: 'ws-042' })).toEqual({ ok: true, value: null });
    expect(await invoke(IPC.sessionOpen, { workstationId: 'ws-042' })).toEqual({ ok: true, value: null });
    expect(await invoke(IPC.sessionOpen, { workstationId: 'ws-007' })).toEqual({ ok: true, value: null });
    expect(windows.map((w) => w.url)).toEqual(['app://backlot/index.html#session=ws-042', 'app://backlot/index.html#session=ws-007']);
    expect(await invokeFrom(windows[0]!.webContents, IPC.sessionState, { workstationId: 'ws-042', state: 'connected' })).toEqual({ ok: true, value: null });
    expect(await invokeFrom(windows[1]!.webContents, IPC.sessionState, { workstationId: 'ws-042', state: 'ended' })).toMatchObject({ ok: false, error: { code: 'ERR_FORBIDDEN' } });
    expect(sessions.list()).toEqual([{ workstationId: 'ws-042', state: 'connected' }, { workstationId: 'ws-007', state: 'connecting' }]);
    await invoke(IPC.authLogout);
    expect(sessions.list()).toEqual([]);
  });

  it('narrows the grant by the client policy (clipboard off, relay only)', async () => {
    const policies: Policies = {
      ...NO_POLICIES,
      managed: { kind: 'managed', path: '/etc/backlot/policy.json', error: null, policy: { version: 1, allowedBrokers: [broker.url], settings: { clipboard: 'off', forceRelay: true }, locked: ['clipboard', 'forceRelay'] } },
    };
    broker.override.set('/api/sessions', {
      status: 201,
      body: JSON.stringify({ ...GRANT, iceServers: [{ urls: ['stun:stun.example:3478', 'turn:turn.example:3478'], username: 'u', credential: 'c' }, { urls: 'stun:x.example' }] }),
    });
    const { invoke } = await wire({ brokerUrl: null, demo, demoAvailable: false, policies });
    await invoke(IPC.authLogin, { brokerUrl: broker.url, username: 'ana', password: GOOD_PASSWORD });
    const reply = (await invoke(IPC.sessionRequest, { workstationId: 'ws-042' })) as { ok: true; value: typeof GRANT };
    expect(reply.value.policy.clipboard).toBe('off');
    expect(reply.value.iceServers).toEqual([{ urls: ['turn:turn.example:3478'], username: 'u', credential: 'c' }]);
    expect(await invoke(IPC.settingsSet, { clipboard: 'both' })).toMatchObject({ ok: false, error: { code: 'ERR_FORBIDDEN' } });
    expect(await invoke(IPC.settingsGet)).toMatchObject({ ok: true, value: { clipboard: { value: 'off', locked: true, source: 'managed' } } });
  });

  it('a broken policy blocks sign-in with a reason, and app.config says so', async () => {
    const policies: Policies = { ...NO_POLICIES, managed: { kind: 'managed', path: '/etc/backlot/policy.json', policy: null, error: 'The managed policy at /etc/backlot/policy.json is not valid JSON.' } };
    const { invoke } = await wire({ brokerUrl: broker.url, demo, demoAvailable: false, policies });
    expect(await invoke(IPC.authLogin, { brokerUrl: broker.url, username: 'ana', password: GOOD_PASSWORD })).toMatchObject({
      ok: false,
      error: { code: 'ERR_FORBIDDEN', message: expect.stringContaining('not valid JSON') as unknown },
    });
    expect(broker.requests).toHaveLength(0);
    expect(await invoke(IPC.appConfig)).toMatchObject({ ok: true, value: { policyError: expect.stringContaining('policy.json') as unknown } });
  });

  it('remembers the sign-in and resumes it; turning "remember" off wipes it', async () => {
    const { invoke, auth } = await wire({ brokerUrl: broker.url, demo, demoAvailable: false });
    await invoke(IPC.authLogin, { brokerUrl: broker.url, username: 'ana', password: GOOD_PASSWORD });
    expect(await invoke(IPC.credentialsStatus)).toEqual({ ok: true, value: { canRemember: true, reason: null, message: null, remembered: true } });
    auth.broker.forget(); // as after a restart
    expect(await invoke(IPC.authResume)).toEqual({ ok: true, value: { username: 'ana', displayName: 'Ana Artist' } });
    await invoke(IPC.settingsSet, { rememberCredentials: false });
    expect(await invoke(IPC.credentialsStatus)).toMatchObject({ ok: true, value: { canRemember: false, reason: 'user', remembered: false } });
  });
});
