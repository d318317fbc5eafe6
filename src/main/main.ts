/**
 * Electron entry point. Deliberately thin: it creates the Electron objects
 * and hands them to the plain modules next to it, in order: policy and
 * profiles, hardening and the app:// protocol, credentials and sign-in,
 * session windows, deep links, IPC, updates.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { app, dialog, ipcMain, protocol, safeStorage, shell, type BrowserWindow } from 'electron';
import { IPC_EVENTS } from '../shared/ipc-channels.js';
import { APP_ENTRY_URL, APP_SCHEME, serveAppRequest } from './app-protocol.js';
import { AuthService } from './auth.js';
import { loadConfig } from './config.js';
import { buildCsp } from './csp.js';
import { DEMO_CLI_PATH, DemoLauncher, demoCommand } from './demo.js';
import { buildDiagnostics, diagnosticsFileName } from './diagnostics.js';
import { createHandlers } from './handlers.js';
import { CLIPBOARD_PERMISSIONS, hardenWebContents, type HardenDeps } from './harden.js';
import { registerIpc } from './ipc.js';
import { Logger } from './log.js';
import { OpenRequests } from './open-requests.js';
import { loadPolicies, lockedBy, policyError } from './policy.js';
import { ProfileService } from './profiles.js';
import { SessionManager } from './sessions.js';
import { startUpdates, updatePlan } from './updater.js';
import { CredentialVault, VAULT_FILE_NAME } from './vault.js';
import { createAppWindow } from './windows.js';

/** Build output locations, relative to the app root (the folder or asar holding package.json). */
const PRELOAD_PATH = join('dist', 'preload', 'preload.cjs');
const RENDERER_DIR = join('dist', 'renderer');
const LOG_FILE_NAME = 'main.log';

/** Opened once the logs folder is known (after 'ready'); until then lines go to the console and the in-memory tail. */
let logFile: NodeJS.WritableStream | null = null;
const logger = new Logger({
  sink: (line, level) => {
    if (level !== 'info') console.warn(`[backlot] ${line}`);
    logFile?.write(`${line}\n`);
  },
});
const warn = (message: string): void => logger.warn(message);

// Must happen before 'ready'. `standard` gives the renderer a real origin and
// relative URL resolution; `secure` makes it a secure context (needed for
// clipboard, keyboard lock and WebRTC APIs).
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);
// Every renderer sandboxed, including any created by a library we did not audit.
app.enableSandbox();

// macOS delivers links and files as events, possibly before 'ready'; hold them until the router exists.
let openRequests: OpenRequests | null = null;
const early: { urls: string[]; files: string[] } = { urls: [], files: [] };
app.on('open-url', (event, url) => {
  event.preventDefault();
  if (openRequests) openRequests.handleUrl(url);
  else early.urls.push(url);
});
app.on('open-file', (event, path) => {
  event.preventDefault();
  if (openRequests) void openRequests.handleFile(path);
  else early.files.push(path);
});

if (!app.requestSingleInstanceLock()) {
  // Another Backlot is running; it gets a 'second-instance' event with our argv (and so the link or file).
  app.quit();
} else {
  void main().catch((err: unknown) => {
    console.error('[backlot] failed to start', err);
    app.exit(1);
  });
}

async function main(): Promise<void> {
  const appRoot = app.getAppPath();
  await app.whenReady();

  const userDataDir = app.getPath('userData');
  const logsDir = app.getPath('logs');
  mkdirSync(logsDir, { recursive: true });
  logFile = createWriteStream(join(logsDir, LOG_FILE_NAME), { flags: 'a', mode: 0o600 });
  logger.info(`Backlot ${app.getVersion()} starting on ${process.platform} ${process.arch}`);

  // ---- policy and profiles
  const readText = (path: string): Promise<string> => fsp.readFile(path, 'utf8');
  const policies = await loadPolicies({ platform: process.platform, env: process.env, appRoot, readFile: readText });
  const brokenPolicy = policyError(policies);
  if (brokenPolicy !== null) logger.error(`Sign-in blocked: ${brokenPolicy}`);
  const config = await loadConfig({ env: process.env, userDataDir, readFile: readText, warn });
  const profiles = await ProfileService.open({ policies, userDataDir, fs: fsp, environmentBroker: config.brokerUrl, warn });

  // ---- hardening and the renderer's origin
  const demoAvailable = !app.isPackaged && profiles.knownBrokers().length === 0 && existsSync(join(appRoot, DEMO_CLI_PATH));
  const csp = (): string => buildCsp(profiles.knownBrokers(), { allowLoopbackDemo: demoAvailable });
  const hardenDeps: HardenDeps = {
    openExternal: (url) => shell.openExternal(url),
    csp,
    warn,
    policyAllows: (permission) => !CLIPBOARD_PERMISSIONS.has(permission) || profiles.values().clipboard !== 'off',
  };
  // Anything that creates web contents (a devtools extension, a library) gets the same navigation rules.
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, hardenDeps));

  const rendererDir = join(appRoot, RENDERER_DIR);
  protocol.handle(APP_SCHEME, (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return new Response('Method not allowed', { status: 405 });
    return serveAppRequest(request.url, { rootDir: rendererDir, readFile: (path) => fsp.readFile(path), csp });
  });

  // ---- windows
  let mainWindow: BrowserWindow | null = null;
  const newWindow = (url: string, title: string, fullscreen = false): BrowserWindow =>
    createAppWindow({
      preloadPath: join(appRoot, PRELOAD_PATH),
      devTools: !app.isPackaged,
      url,
      title,
      fullscreen,
      hardenDeps,
      onLoadError: (err) => logger.error('Could not load the app page', err),
    });
  const showMainWindow = (): BrowserWindow => {
    if (mainWindow && !mainWindow.isDestroyed()) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
      return mainWindow;
    }
    const win = newWindow(APP_ENTRY_URL, 'Backlot');
    mainWindow = win;
    win.on('closed', () => {
      if (mainWindow === win) mainWindow = null;
    });
    return win;
  };
  const sessions = new SessionManager({
    createWindow: (workstationId, url) => newWindow(url, `Backlot: ${workstationId}`, profiles.values().fullscreenOnConnect),
    log: (message) => logger.info(message),
  });

  // ---- credentials and sign-in
  const vault = new CredentialVault({
    safeStorage,
    platform: process.platform,
    path: join(userDataDir, VAULT_FILE_NAME),
    fs: fsp,
    allowed: () => ({ allowed: profiles.values().rememberCredentials, byPolicy: lockedBy(policies, 'rememberCredentials') !== null }),
    warn,
  });
  const auth = new AuthService({
    vault,
    broker: { onSecret: (secret) => logger.addSecret(secret) },
    isBrokerAllowed: (brokerUrl) => profiles.isBrokerAllowed(brokerUrl),
    onSignedOut: () => sessions.closeAll(),
    warn,
  });

  // ---- deep links and connection files
  openRequests = new OpenRequests({
    context: {
      findProfile: (id) => profiles.find(id),
      findProfileByBroker: (origin) => profiles.findByBroker(origin),
      isBrokerAllowed: (brokerUrl) => profiles.isBrokerAllowed(brokerUrl),
    },
    fs: fsp,
    platform: process.platform,
    deliver: (request) => {
      const win = showMainWindow();
      win.webContents.send(IPC_EVENTS.openRequest, request);
      return true;
    },
    log: (message) => logger.info(message),
  });
  app.on('second-instance', (_event, argv) => {
    showMainWindow();
    void openRequests?.handleArgv(argv);
  });

  // ---- IPC
  const demo = new DemoLauncher({ spawn, command: demoCommand(appRoot, process.env), env: process.env, warn });
  const exportDiagnostics = async (): Promise<{ path: string } | null> => {
    const now = new Date();
    const options = { title: 'Export diagnostics', defaultPath: join(app.getPath('downloads'), diagnosticsFileName(now)) };
    const choice = mainWindow ? await dialog.showSaveDialog(mainWindow, options) : await dialog.showSaveDialog(options);
    if (choice.canceled || choice.filePath === undefined) return null;
    const text = buildDiagnostics({
      version: app.getVersion(),
      platform: process.platform,
      arch: process.arch,
      versions: { ...process.versions },
      policies,
      settings: profiles.effective(),
      profiles: profiles.list(),
      credentials: await auth.status(),
      signedInBroker: auth.broker.brokerUrl,
      sessions: sessions.list(),
      log: logger.tail(),
      now,
    });
    await fsp.writeFile(choice.filePath, text, { mode: 0o600 });
    logger.info('Diagnostics exported');
    return { path: choice.filePath };
  };
  registerIpc({
    ipcMain,
    handlers: createHandlers({ profiles, auth, sessions, openRequests, demo, demoAvailable, version: app.getVersion(), exportDiagnostics }),
    isOurWebContents: (sender) => (mainWindow !== null && !mainWindow.isDestroyed() && mainWindow.webContents === sender) || sessions.isSessionContents(sender),
    warn,
  });

  // ---- lifecycle
  // macOS keeps apps alive without windows; clicking the dock icon brings one back.
  app.on('activate', () => {
    if (mainWindow === null) showMainWindow();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  let stopping = false;
  app.on('will-quit', (event) => {
    // Tokens in memory go with the process anyway; the remembered refresh token stays (that is the point of it).
    auth.broker.forget();
    if (!demo.running || stopping) return;
    // Hold the quit until the demo's broker and host have exited, so no orphan keeps its ports.
    event.preventDefault();
    stopping = true;
    void demo.stop().finally(() => app.quit());
  });

  showMainWindow();
  for (const url of early.urls) openRequests.handleUrl(url);
  for (const file of early.files) await openRequests.handleFile(file);
  await openRequests.handleArgv(process.argv);

  await startUpdates({
    plan: updatePlan(profiles.values(), app.isPackaged),
    load: async () => (await import('electron-updater')).autoUpdater,
    log: (message) => logger.info(message),
  });
}
