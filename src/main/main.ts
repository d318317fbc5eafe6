/**
 * Electron entry point. Deliberately thin: it creates the Electron objects
 * and hands them to the plain modules next to it, in order.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { app, BrowserWindow, ipcMain, protocol, shell } from 'electron';
import { APP_ENTRY_URL, APP_SCHEME, serveAppRequest } from './app-protocol.js';
import { BrokerClient } from './broker-client.js';
import { loadConfig } from './config.js';
import { buildCsp } from './csp.js';
import { DEMO_CLI_PATH, DemoLauncher, demoCommand } from './demo.js';
import { createHandlers } from './handlers.js';
import { hardenWebContents, hardenWindow, windowOptions, type HardenDeps } from './harden.js';
import { registerIpc } from './ipc.js';

/** Build output locations, relative to the app root (the folder or asar holding package.json). */
const PRELOAD_PATH = join('dist', 'preload', 'preload.cjs');
const RENDERER_DIR = join('dist', 'renderer');

const warn = (message: string): void => console.warn(`[backlot] ${message}`);

// Must happen before 'ready'. `standard` gives the renderer a real origin and
// relative URL resolution; `secure` makes it a secure context (needed for
// clipboard, keyboard lock and WebRTC APIs).
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);
// Every renderer sandboxed, including any created by a library we did not audit.
app.enableSandbox();

if (!app.requestSingleInstanceLock()) {
  // Another Backlot is running; it gets a 'second-instance' event (deep links will arrive that way too).
  app.quit();
} else {
  void main().catch((err: unknown) => {
    console.error('[backlot] failed to start', err);
    app.exit(1);
  });
}

async function main(): Promise<void> {
  const appRoot = app.getAppPath();
  const windows = new Set<BrowserWindow>();

  await app.whenReady();

  const config = await loadConfig({
    env: process.env,
    userDataDir: app.getPath('userData'),
    readFile: (path) => readFile(path, 'utf8'),
    warn,
  });
  const demoAvailable = !app.isPackaged && config.brokerUrl === null && existsSync(join(appRoot, DEMO_CLI_PATH));
  const csp = (): string => buildCsp(config.brokerUrl, { allowLoopbackDemo: demoAvailable });
  const hardenDeps: HardenDeps = { openExternal: (url) => shell.openExternal(url), csp, warn };

  // Anything that creates web contents (a devtools extension, a library) gets the same navigation rules.
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, hardenDeps));

  const rendererDir = join(appRoot, RENDERER_DIR);
  protocol.handle(APP_SCHEME, (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return new Response('Method not allowed', { status: 405 });
    return serveAppRequest(request.url, { rootDir: rendererDir, readFile: (path) => readFile(path), csp });
  });

  const broker = new BrokerClient();
  const demo = new DemoLauncher({ spawn, command: demoCommand(appRoot, process.env), env: process.env, warn });
  registerIpc({
    ipcMain,
    handlers: createHandlers({ config, broker, demo, demoAvailable, version: app.getVersion() }),
    isOurWebContents: (sender) => [...windows].some((win) => !win.isDestroyed() && win.webContents === sender),
    warn,
  });

  const createWindow = (): void => {
    const win = new BrowserWindow(windowOptions({ preloadPath: join(appRoot, PRELOAD_PATH), devTools: !app.isPackaged }));
    windows.add(win);
    hardenWindow(win, hardenDeps);
    win.once('ready-to-show', () => win.show());
    win.on('closed', () => windows.delete(win));
    win.loadURL(APP_ENTRY_URL).catch((err: unknown) => console.error('[backlot] could not load the app page', err));
  };

  app.on('second-instance', () => {
    const [first] = windows;
    if (!first) return createWindow();
    if (first.isMinimized()) first.restore();
    first.focus();
  });
  // macOS keeps apps alive without windows; clicking the dock icon brings one back.
  app.on('activate', () => {
    if (windows.size === 0) createWindow();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  let stopping = false;
  app.on('will-quit', (event) => {
    broker.logout();
    if (!demo.running || stopping) return;
    // Hold the quit until the demo's broker and host have exited, so no orphan keeps its ports.
    event.preventDefault();
    stopping = true;
    void demo.stop().finally(() => app.quit());
  });

  createWindow();
}
