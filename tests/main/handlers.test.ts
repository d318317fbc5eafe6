import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IPC, type IpcChannel } from '../../src/shared/ipc.js';
import { BrokerClient } from '../../src/main/broker-client.js';
import { DemoLauncher } from '../../src/main/demo.js';
import { createHandlers } from '../../src/main/handlers.js';
import { registerIpc, type InvokeEventLike, type IpcMainLike } from '../../src/main/ipc.js';
import { ACCESS_TOKEN, GOOD_PASSWORD, GRANT, WORKSTATIONS, startFakeBroker, type FakeBroker } from './fake-broker.js';

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

/** Main's IPC stack as main.ts wires it, minus Electron: registerIpc + createHandlers + a real BrokerClient. */
function wire(options: { brokerUrl: string | null; demo: DemoLauncher; demoAvailable: boolean }) {
  const listeners = new Map<string, (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>>();
  const ipcMain: IpcMainLike = { handle: (c, l) => void listeners.set(c, l), removeHandler: (c) => void listeners.delete(c) };
  const broker = new BrokerClient();
  registerIpc({
    ipcMain,
    handlers: createHandlers({ config: { brokerUrl: options.brokerUrl }, broker, demo: options.demo, demoAvailable: options.demoAvailable, version: '9.9.9' }),
    isOurWebContents: (sender) => sender === ourContents,
    warn: vi.fn(),
  });
  const invoke = (channel: IpcChannel, ...args: unknown[]) => listeners.get(channel)!(ours, ...args);
  return { invoke, broker };
}

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
    const { invoke } = wire({ brokerUrl: broker.url, demo, demoAvailable: false });
    const reply = await invoke(IPC.authLogin, { brokerUrl: `${broker.url}/`, username: 'ana', password: GOOD_PASSWORD });
    expect(reply).toEqual({ ok: true, value: { username: 'ana', displayName: 'Ana Artist' } });
    expect(broker.requests).toHaveLength(1);
    expect(JSON.parse(broker.requests[0]!.body)).toEqual({ username: 'ana', password: GOOD_PASSWORD });

    expect(await invoke(IPC.workstationsList)).toEqual({ ok: true, value: WORKSTATIONS });
    const grant = await invoke(IPC.sessionRequest, { workstationId: 'ws-042' });
    expect(grant).toEqual({ ok: true, value: GRANT });
    expect(JSON.stringify([reply, grant])).not.toContain(ACCESS_TOKEN);

    expect(await invoke(IPC.authLogout)).toEqual({ ok: true, value: null });
    expect(await invoke(IPC.workstationsList)).toMatchObject({ ok: false, error: { code: 'ERR_UNAUTHORIZED' } });
  });

  it('refuses to send a password to a broker other than the configured one', async () => {
    const { invoke } = wire({ brokerUrl: broker.url, demo, demoAvailable: false });
    const reply = await invoke(IPC.authLogin, { brokerUrl: 'https://evil.example', username: 'ana', password: GOOD_PASSWORD });
    expect(reply).toMatchObject({ ok: false, error: { code: 'ERR_FORBIDDEN', message: expect.stringContaining(broker.url) as unknown } });
    expect(broker.requests).toHaveLength(0);
  });

  it('reports the configuration without secrets', async () => {
    const { invoke } = wire({ brokerUrl: broker.url, demo, demoAvailable: false });
    expect(await invoke(IPC.appConfig)).toEqual({ ok: true, value: { brokerUrl: broker.url, demoAvailable: false, version: '9.9.9' } });
  });

  it('with nothing configured, starts the demo and then allows exactly its broker', async () => {
    const { invoke } = wire({ brokerUrl: null, demo, demoAvailable: true });
    const before = await invoke(IPC.authLogin, { brokerUrl: broker.url, username: 'demo', password: GOOD_PASSWORD });
    expect(before).toMatchObject({ ok: false, error: { code: 'ERR_FORBIDDEN' } });

    expect(await invoke(IPC.demoStart)).toEqual({ ok: true, value: { brokerUrl: broker.url, username: 'demo', password: 'demo-password' } });
    expect(await invoke(IPC.appConfig)).toMatchObject({ ok: true, value: { brokerUrl: broker.url, demoAvailable: true } });
    expect(await invoke(IPC.authLogin, { brokerUrl: broker.url, username: 'demo', password: GOOD_PASSWORD })).toMatchObject({ ok: true });
  });

  it('does not offer the demo where it is unavailable', async () => {
    const { invoke } = wire({ brokerUrl: null, demo, demoAvailable: false });
    expect(await invoke(IPC.demoStart)).toMatchObject({ ok: false, error: { code: 'ERR_NOT_FOUND' } });
    expect(demo.running).toBe(false);
  });
});
