/**
 * Runs src/main/main.ts against a stand-in for the 'electron' module, so the
 * thin wiring (protocol registration, window options, IPC registration,
 * hardening, quit handling) is exercised without an Electron binary.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

type Listener = (...args: unknown[]) => unknown;

// vi.mock and vi.hoisted run before the imports above, so this state holds only plain values.
const fake = vi.hoisted(() => {
  return {
    schemes: [] as unknown[],
    protocolHandlers: new Map<string, (request: Request) => Response | Promise<Response>>(),
    ipcHandlers: new Map<string, (event: unknown, ...args: unknown[]) => Promise<unknown>>(),
    windows: [] as { options: unknown; loaded: string[]; webContents: unknown }[],
    appListeners: new Map<string, Listener[]>(),
    sandboxEnabled: false,
    quit: vi.fn(),
    appRoot: '',
  };
});
let appRoot = '';

vi.mock('electron', async () => {
  // Imported here: the factory is hoisted above this file's own imports.
  const { EventEmitter } = await import('node:events');
  const path = await import('node:path');
  class FakeContents extends EventEmitter {
    setWindowOpenHandler = vi.fn();
    session = Object.assign(new EventEmitter(), {
      setPermissionRequestHandler: vi.fn(),
      setPermissionCheckHandler: vi.fn(),
      setDevicePermissionHandler: vi.fn(),
      webRequest: { onHeadersReceived: vi.fn() },
    });
  }
  class BrowserWindow extends EventEmitter {
    webContents = new FakeContents();
    loaded: string[] = [];
    constructor(readonly options: unknown) {
      super();
      fake.windows.push(this);
    }
    loadURL(url: string) {
      this.loaded.push(url);
      return Promise.resolve();
    }
    isDestroyed = () => false;
    isMinimized = () => false;
    restore = vi.fn();
    focus = vi.fn();
    show = vi.fn();
  }
  const app = {
    enableSandbox: () => {
      fake.sandboxEnabled = true;
    },
    requestSingleInstanceLock: () => true,
    whenReady: () => Promise.resolve(),
    getAppPath: () => fake.appRoot,
    getPath: () => path.join(fake.appRoot, 'userData'),
    getVersion: () => '0.1.0-test',
    isPackaged: true,
    on: (event: string, listener: Listener) => {
      fake.appListeners.set(event, [...(fake.appListeners.get(event) ?? []), listener]);
    },
    quit: fake.quit,
    exit: vi.fn(),
  };
  return {
    app,
    BrowserWindow,
    ipcMain: {
      handle: (channel: string, listener: (event: unknown, ...args: unknown[]) => Promise<unknown>) => fake.ipcHandlers.set(channel, listener),
      removeHandler: (channel: string) => fake.ipcHandlers.delete(channel),
    },
    protocol: {
      registerSchemesAsPrivileged: (schemes: unknown[]) => fake.schemes.push(...schemes),
      handle: (scheme: string, handler: (request: Request) => Response) => fake.protocolHandlers.set(scheme, handler),
    },
    shell: { openExternal: vi.fn(() => Promise.resolve()) },
    dialog: { showSaveDialog: vi.fn(() => Promise.resolve({ canceled: true })) },
    safeStorage: {
      isEncryptionAvailable: () => false,
      encryptString: () => Buffer.alloc(0),
      decryptString: () => '',
      getSelectedStorageBackend: () => 'basic_text',
    },
  };
});

beforeAll(async () => {
  appRoot = mkdtempSync(join(tmpdir(), 'backlot-main-'));
  mkdirSync(join(appRoot, 'dist', 'renderer'), { recursive: true });
  writeFileSync(join(appRoot, 'dist', 'renderer', 'index.html'), '<!doctype html><title>Backlot</title>');
  fake.appRoot = appRoot;
  vi.stubEnv('BACKLOT_BROKER_URL', 'https://broker.studio.example');
  await import('../../src/main/main.js');
  await vi.waitFor(() => expect(fake.windows).toHaveLength(1));
});
afterAll(() => {
  vi.unstubAllEnvs();
  rmSync(appRoot, { recursive: true, force: true });
});

describe('main.ts wiring', () => {
  it('registers app:// as a standard, secure scheme and enables the sandbox everywhere', () => {
    expect(fake.schemes).toEqual([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
    expect(fake.sandboxEnabled).toBe(true);
  });

  it('opens one hardened window on app://backlot with the bundled preload', () => {
    const [win] = fake.windows;
    expect(win?.loaded).toEqual(['app://backlot/index.html']);
    expect(win?.options).toMatchObject({
      webPreferences: { preload: join(appRoot, 'dist', 'preload', 'preload.cjs'), sandbox: true, contextIsolation: true, nodeIntegration: false, devTools: false },
    });
    const contents = win?.webContents as EventEmitter & { setWindowOpenHandler: ReturnType<typeof vi.fn> };
    expect(contents.listenerCount('will-navigate')).toBe(1);
    expect(contents.setWindowOpenHandler).toHaveBeenCalled();
  });

  it('serves the renderer with the CSP naming the configured broker, and nothing outside it', async () => {
    const handler = fake.protocolHandlers.get('app')!;
    const page = await handler(new Request('app://backlot/index.html'));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain('connect-src https://broker.studio.example wss://broker.studio.example');
    expect((await handler(new Request('app://backlot/..%2f..%2fetc%2fpasswd'))).status).toBe(404);
    expect((await handler(new Request('app://backlot/index.html', { method: 'POST', body: 'x' }))).status).toBe(405);
  });

  it('answers IPC from its window and refuses it from anywhere else', async () => {
    const getConfig = fake.ipcHandlers.get('app.config')!;
    const win = fake.windows[0]!;
    const fromWindow = { sender: win.webContents, senderFrame: { url: 'app://backlot/index.html', parent: null } };
    expect(await getConfig(fromWindow)).toEqual({
      ok: true,
      value: { brokerUrl: 'https://broker.studio.example', demoAvailable: false, version: '0.1.0-test', policyError: null },
    });
    const stranger = { sender: new EventEmitter(), senderFrame: { url: 'app://backlot/index.html', parent: null } };
    expect(await getConfig(stranger)).toMatchObject({ ok: false, error: { code: 'ERR_FORBIDDEN' } });
  });

  it('reports that credentials cannot be remembered without a keyring, and why', async () => {
    const status = fake.ipcHandlers.get('credentials.status')!;
    const win = fake.windows[0]!;
    const reply = await status({ sender: win.webContents, senderFrame: { url: 'app://backlot/index.html', parent: null } });
    expect(reply).toMatchObject({ ok: true, value: { canRemember: false, reason: 'encryption-unavailable', remembered: false } });
  });

  it('registers a handler for every channel and listens for deep links', () => {
    expect([...fake.ipcHandlers.keys()]).toContain('open.take');
    expect(fake.appListeners.has('second-instance')).toBe(true);
    expect(fake.appListeners.has('open-url')).toBe(true);
    expect(fake.appListeners.has('open-file')).toBe(true);
  });

  it('quits when the last window closes (except on macOS)', () => {
    for (const listener of fake.appListeners.get('window-all-closed') ?? []) listener();
    if (process.platform !== 'darwin') expect(fake.quit).toHaveBeenCalled();
  });
});
