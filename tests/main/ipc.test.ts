import { describe, expect, it, vi } from 'vitest';
import { IPC, type IpcChannel } from '../../src/shared/ipc.js';
import { DEFAULT_SESSION_POLICY } from '../../src/shared/policy.js';
import type { SessionGrant } from '../../src/shared/protocol.js';
import { BacklotError } from '../../src/main/errors.js';
import { registerIpc, type IpcHandlers, type IpcMainLike, type InvokeEventLike } from '../../src/main/ipc.js';

/** A stand-in for Electron's ipcMain that records handlers so tests can invoke them. */
function fakeIpcMain() {
  const listeners = new Map<string, (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>>();
  const ipcMain: IpcMainLike = {
    handle: (channel, listener) => {
      if (listeners.has(channel)) throw new Error(`second handler for ${channel}`);
      listeners.set(channel, listener);
    },
    removeHandler: (channel) => listeners.delete(channel),
  };
  const invoke = (channel: IpcChannel, event: InvokeEventLike, ...args: unknown[]): Promise<unknown> => {
    const listener = listeners.get(channel);
    if (!listener) throw new Error(`no handler for ${channel}`);
    return listener(event, ...args);
  };
  return { ipcMain, listeners, invoke };
}

const grant: SessionGrant = {
  sessionId: 'ses_1',
  workstationId: 'ws-042',
  signalUrl: 'wss://broker.example/ws/client',
  grantToken: 'g'.repeat(32),
  iceServers: [],
  expiresAt: 1,
  policy: DEFAULT_SESSION_POLICY,
};

function setup() {
  const ourContents = { id: 1 };
  const handlers: IpcHandlers = {
    [IPC.appConfig]: vi.fn(() => Promise.resolve({ brokerUrl: null, demoAvailable: true, version: '0.1.0', policyError: null })),
    [IPC.demoStart]: vi.fn(() => Promise.reject(new BacklotError('ERR_NOT_FOUND', 'no demo here'))),
    [IPC.authLogin]: vi.fn(() => Promise.resolve({ status: 'ok' as const, user: { username: 'ana', displayName: 'Ana' } })),
    [IPC.authTotp]: vi.fn(() => Promise.resolve({ username: 'ana', displayName: 'Ana' })),
    [IPC.authResume]: vi.fn(() => Promise.resolve(null)),
    [IPC.authLogout]: vi.fn(() => Promise.resolve(null)),
    [IPC.credentialsStatus]: vi.fn(() => Promise.resolve({ canRemember: true, reason: null, message: null, remembered: false })),
    [IPC.settingsGet]: vi.fn(() => Promise.reject(new Error('unused'))),
    [IPC.settingsSet]: vi.fn(() => Promise.reject(new Error('unused'))),
    [IPC.profilesList]: vi.fn(() => Promise.reject(new Error('unused'))),
    [IPC.profilesSave]: vi.fn(() => Promise.reject(new Error('unused'))),
    [IPC.profilesRemove]: vi.fn(() => Promise.reject(new Error('unused'))),
    [IPC.sessionOpen]: vi.fn(() => Promise.resolve(null)),
    [IPC.sessionState]: vi.fn(() => Promise.resolve(null)),
    [IPC.openTake]: vi.fn(() => Promise.resolve(null)),
    [IPC.diagnosticsExport]: vi.fn(() => Promise.resolve(null)),
    [IPC.workstationsList]: vi.fn(() => Promise.reject(new Error('/home/ana/secret path in a stack trace'))),
    [IPC.sessionRequest]: vi.fn(() => Promise.resolve(grant)),
  };
  const warn = vi.fn();
  const fake = fakeIpcMain();
  const unregister = registerIpc({ ipcMain: fake.ipcMain, handlers, isOurWebContents: (sender) => sender === ourContents, warn });
  const ours: InvokeEventLike = { sender: ourContents, senderFrame: { url: 'app://backlot/index.html', parent: null } };
  return { ...fake, handlers, warn, ours, ourContents, unregister };
}

describe('registerIpc', () => {
  it('registers exactly one handler per channel in the registry, and removes them', () => {
    const { listeners, unregister } = setup();
    expect([...listeners.keys()].sort()).toEqual(Object.values(IPC).sort());
    unregister();
    expect(listeners.size).toBe(0);
  });

  it('passes a valid payload to the handler and wraps the value', async () => {
    const { invoke, handlers, ours } = setup();
    const reply = await invoke(IPC.sessionRequest, ours, { workstationId: 'ws-042' });
    expect(reply).toEqual({ ok: true, value: grant });
    expect(handlers[IPC.sessionRequest]).toHaveBeenCalledWith({ workstationId: 'ws-042' }, { sender: ours.sender });
  });

  it('accepts channels without payload when nothing is sent', async () => {
    const { invoke, ours } = setup();
    expect(await invoke(IPC.appConfig, ours)).toEqual({ ok: true, value: { brokerUrl: null, demoAvailable: true, version: '0.1.0', policyError: null } });
  });

  describe('refuses a foreign sender', () => {
    it.each<[string, (ev: InvokeEventLike) => InvokeEventLike]>([
      ['web contents that are not one of our windows', (ev) => ({ ...ev, sender: { id: 99 } })],
      ['a page from another origin', (ev) => ({ ...ev, senderFrame: { url: 'https://evil.example/', parent: null } })],
      ['a file:// page', (ev) => ({ ...ev, senderFrame: { url: 'file:///tmp/x.html', parent: null } })],
      ['an app:// look-alike host', (ev) => ({ ...ev, senderFrame: { url: 'app://backlot.evil/', parent: null } })],
      ['a subframe, even of our own origin', (ev) => ({ ...ev, senderFrame: { url: 'app://backlot/index.html', parent: {} } })],
      ['a frame that is gone', (ev) => ({ ...ev, senderFrame: null })],
    ])('%s', async (_name, mutate) => {
      const { invoke, handlers, ours, warn } = setup();
      const reply = await invoke(IPC.sessionRequest, mutate(ours), { workstationId: 'ws-042' });
      expect(reply).toMatchObject({ ok: false, error: { code: 'ERR_FORBIDDEN', message: expect.stringMatching(/^Refused: .+/) as unknown } });
      expect(handlers[IPC.sessionRequest]).not.toHaveBeenCalled();
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('Refused IPC session.request'));
    });
  });

  describe('refuses a malformed payload with a reason', () => {
    it.each<[IpcChannel, unknown[]]>([
      [IPC.sessionRequest, [{ workstationId: '../../etc' }]],
      [IPC.sessionRequest, [{ workstationId: 'ws-042', extra: true }]],
      [IPC.sessionRequest, ['ws-042']],
      [IPC.sessionRequest, []],
      [IPC.authLogin, [{ username: 'ana', password: 'pw', brokerUrl: 'not a url' }]],
      [IPC.authLogin, [{ username: '', password: 'pw', brokerUrl: 'https://broker.example' }]],
      [IPC.appConfig, [{ sneaky: true }]],
      [IPC.authLogout, [undefined, 'second argument']],
      [IPC.authTotp, [{ code: '12345' }]],
      [IPC.authTotp, [{ code: '123456', mfaToken: 'from-the-page' }]],
      [IPC.settingsSet, [{ updateUrl: 'https://evil.example/updates' }]],
      [IPC.settingsSet, [{ maxFps: 10_000 }]],
      [IPC.settingsGet, [{ profileId: '../../etc' }]],
      [IPC.profilesSave, [{ id: 'x', name: 'X', brokerUrl: 'https://b.example', password: 'hunter2' }]],
      [IPC.profilesSave, [{ id: 'x', name: 'X', brokerUrl: 'file:///etc/passwd' }]],
      [IPC.profilesRemove, [{ id: '' }]],
      [IPC.sessionOpen, [{ workstationId: 'ws-042?x=1' }]],
      [IPC.sessionState, [{ workstationId: 'ws-042', state: 'hacked' }]],
      [IPC.openTake, [{ profileId: 'x' }]],
      [IPC.diagnosticsExport, [{ path: '/etc/passwd' }]],
    ])('%s %j', async (channel, args) => {
      const { invoke, handlers, ours } = setup();
      const reply = (await invoke(channel, ours, ...args)) as { ok: boolean; error?: { code: string; message: string } };
      expect(reply.ok).toBe(false);
      expect(reply.error?.code).toBe('ERR_BAD_REQUEST');
      expect(reply.error?.message).toMatch(/^Malformed request: .+/);
      expect(handlers[channel]).not.toHaveBeenCalled();
    });

    it('names the offending field', async () => {
      const { invoke, ours } = setup();
      const reply = (await invoke(IPC.sessionRequest, ours, { workstationId: 'a b' })) as { error: { message: string } };
      expect(reply.error.message).toContain('workstationId');
    });

    it('never logs the payload (a login carries a password)', async () => {
      const { invoke, ours, warn } = setup();
      await invoke(IPC.authLogin, ours, { username: 'ana', password: 'hunter2-hunter2', brokerUrl: 42 });
      expect(warn).toHaveBeenCalled();
      expect(JSON.stringify(warn.mock.calls)).not.toContain('hunter2');
    });
  });

  it('every channel refuses a foreign sender before parsing or acting', async () => {
    for (const channel of Object.values(IPC)) {
      const { invoke, handlers, ours } = setup();
      const reply = await invoke(channel, { ...ours, sender: { id: 666 } }, undefined);
      expect(reply, channel).toMatchObject({ ok: false, error: { code: 'ERR_FORBIDDEN' } });
      expect(handlers[channel], channel).not.toHaveBeenCalled();
    }
  });

  it('every channel refuses a payload of the wrong type', async () => {
    for (const channel of Object.values(IPC)) {
      const { invoke, handlers, ours } = setup();
      const reply = await invoke(channel, ours, 42);
      expect(reply, channel).toMatchObject({ ok: false, error: { code: 'ERR_BAD_REQUEST' } });
      expect(handlers[channel], channel).not.toHaveBeenCalled();
    }
  });

  it('passes a BacklotError code through to the renderer', async () => {
    const { invoke, ours } = setup();
    expect(await invoke(IPC.demoStart, ours)).toEqual({ ok: false, error: { code: 'ERR_NOT_FOUND', message: 'no demo here' } });
  });

  it('hides the text of unexpected errors from the renderer', async () => {
    const { invoke, ours, warn } = setup();
    const reply = (await invoke(IPC.workstationsList, ours)) as { ok: false; error: { code: string; message: string } };
    expect(reply.error.code).toBe('ERR_INTERNAL');
    expect(reply.error.message).not.toContain('/home/ana');
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('failed unexpectedly'));
  });
});
