/**
 * One place that applies Electron's security checklist to every window we
 * create (https://www.electronjs.org/docs/latest/tutorial/security). Pure
 * decisions (`navigationAllowed`, `externalUrlAllowed`, `permissionAllowed`,
 * `windowOptions`) are exported for tests; `hardenWindow` only wires them up.
 */
import type { BrowserWindow, BrowserWindowConstructorOptions, Session, WebContents } from 'electron';
import { isAppUrl } from './app-protocol.js';

/** Electron's permission names, taken from its own types so a rename breaks the build. */
export type Permission = Parameters<NonNullable<Parameters<Session['setPermissionRequestHandler']>[0]>>[1];

/**
 * Permissions the renderer may have; everything else is denied. Each entry
 * says which feature needs it.
 */
export const ALLOWED_PERMISSIONS: ReadonlySet<Permission> = new Set<Permission>([
  // Clipboard sync: copy on the workstation, paste at home (and back), subject to the studio's policy.
  'clipboard-read',
  'clipboard-sanitized-write',
  // The remote desktop fills the screen.
  'fullscreen',
  // Relative mouse for 3D viewports (Maya, Houdini tumble) that warp the cursor.
  'pointerLock',
  // Alt+Tab, Ctrl+W and friends go to the workstation instead of the home PC (Keyboard Lock API).
  'keyboardLock',
]);

/** Minimum window size at which the login form and the workstation list stay usable. */
const MIN_WINDOW_WIDTH = 800;
const MIN_WINDOW_HEIGHT = 600;
const DEFAULT_WINDOW_WIDTH = 1280;
const DEFAULT_WINDOW_HEIGHT = 800;

/** The options every Backlot window is created with; the security settings are spelt out, not left to defaults. */
export function windowOptions(options: { preloadPath: string; devTools: boolean }): BrowserWindowConstructorOptions {
  return {
    width: DEFAULT_WINDOW_WIDTH,
    height: DEFAULT_WINDOW_HEIGHT,
    minWidth: MIN_WINDOW_WIDTH,
    minHeight: MIN_WINDOW_HEIGHT,
    title: 'Backlot',
    // Shown on 'ready-to-show' so the user never sees a white frame.
    show: false,
    backgroundColor: '#111111',
    webPreferences: {
      preload: options.preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
      devTools: options.devTools,
    },
  };
}

/** Top-level navigation may only stay inside our own app:// origin. */
export function navigationAllowed(url: string): boolean {
  return isAppUrl(url);
}

/** Links the renderer asks to open go to the system browser only if they are https: (no file:, smb:, custom handlers). */
export function externalUrlAllowed(url: string): boolean {
  try {
    return new URL(url).protocol === 'https:';
  } catch {
    return false;
  }
}

/** Permissions that only make sense while the policy allows clipboard sync. */
export const CLIPBOARD_PERMISSIONS: ReadonlySet<string> = new Set(['clipboard-read', 'clipboard-sanitized-write']);

/**
 * A permission is granted only if it is on the allowlist, asked for by our own
 * page, and not switched off by policy (`policyAllows`, e.g. clipboard off).
 */
export function permissionAllowed(permission: string, requestingUrl: string, policyAllows: (permission: string) => boolean = () => true): boolean {
  return ALLOWED_PERMISSIONS.has(permission as Permission) && isAppUrl(requestingUrl) && policyAllows(permission);
}

export interface HardenDeps {
  /** `shell.openExternal`, injected. */
  openExternal: (url: string) => Promise<void>;
  /** The CSP for app:// responses (recomputed per response because the configured broker can change). */
  csp: () => string;
  warn: (message: string) => void;
  /** Policy veto over allowlisted permissions (clipboard off → no clipboard permissions). */
  policyAllows?: (permission: string) => boolean;
}

// Hardening is idempotent: main.ts applies it from both `web-contents-created` and window creation.
const hardenedContents = new WeakSet<WebContents>();
const hardenedSessions = new WeakSet<Session>();

/** Applies the checklist to one window: navigation, new windows, webviews, and its session's permissions and CSP. */
export function hardenWindow(win: BrowserWindow, deps: HardenDeps): void {
  hardenWebContents(win.webContents, deps);
  hardenSession(win.webContents.session, deps);
}

/** The per-page part of `hardenWindow`; also applied by main.ts to any web contents created by other means. */
export function hardenWebContents(contents: WebContents, deps: HardenDeps): void {
  if (hardenedContents.has(contents)) return;
  hardenedContents.add(contents);
  contents.on('will-navigate', (event) => {
    if (navigationAllowed(event.url)) return;
    event.preventDefault();
    // The URL itself is not logged: it may carry tokens or personal data.
    deps.warn('Blocked navigation away from the app');
  });
  contents.on('will-redirect', (event) => {
    if (navigationAllowed(event.url)) return;
    event.preventDefault();
    deps.warn('Blocked a redirect away from the app');
  });
  contents.setWindowOpenHandler(({ url }) => {
    if (externalUrlAllowed(url)) {
      deps.openExternal(url).catch(() => deps.warn('Could not open a link in the system browser'));
    } else {
      deps.warn('Blocked a request to open a window');
    }
    // The app never opens a second Electron window on the page's say-so.
    return { action: 'deny' };
  });
  // <webview> is disabled in webPreferences; this also stops one being attached by any other route.
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

/** Permission handlers, download blocking and the CSP header, applied once per session. */
export function hardenSession(session: Session, deps: HardenDeps): void {
  if (hardenedSessions.has(session)) return;
  hardenedSessions.add(session);

  session.setPermissionRequestHandler((_contents, permission, callback, details) => {
    const allowed = permissionAllowed(permission, details.requestingUrl, deps.policyAllows);
    if (!allowed) deps.warn(`Denied permission request: ${permission}`);
    callback(allowed);
  });
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin) => permissionAllowed(permission, requestingOrigin, deps.policyAllows));
  // WebHID, Web Serial and WebUSB: a remote-desktop client has no business with local devices.
  session.setDevicePermissionHandler(() => false);
  session.on('will-download', (event) => event.preventDefault());

  // The app:// handler already sends the CSP (and is the part that certainly
  // runs: webRequest has not always reported custom-protocol responses). This
  // covers any other response from our origin and replaces, rather than adds
  // to, a CSP already present, so the policy is exactly ours. No URL filter:
  // older Electrons threw "Wrong scheme type" for custom schemes in filters
  // (electron/electron#23413), so the check is done here instead.
  session.webRequest.onHeadersReceived((details, callback) => {
    if (!isAppUrl(details.url)) return callback({});
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(details.responseHeaders ?? {})) {
      if (name.toLowerCase() !== 'content-security-policy') headers[name] = value;
    }
    headers['Content-Security-Policy'] = [deps.csp()];
    callback({ responseHeaders: headers });
  });
}
