import { EventEmitter } from 'node:events';
import type { BrowserWindow } from 'electron';
import { describe, expect, it, vi } from 'vitest';
import {
  ALLOWED_PERMISSIONS,
  externalUrlAllowed,
  hardenWindow,
  navigationAllowed,
  permissionAllowed,
  windowOptions,
} from '../../src/main/harden.js';

describe('windowOptions', () => {
  it('spells out the security settings', () => {
    const prefs = windowOptions({ preloadPath: '/app/dist/preload/preload.cjs', devTools: false }).webPreferences;
    expect(prefs).toMatchObject({
      preload: '/app/dist/preload/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      devTools: false,
    });
  });
});

describe('decisions', () => {
  it('keeps navigation inside the app', () => {
    expect(navigationAllowed('app://backlot/index.html')).toBe(true);
    expect(navigationAllowed('https://evil.example/')).toBe(false);
    expect(navigationAllowed('file:///etc/passwd')).toBe(false);
  });

  it('opens only https links externally', () => {
    expect(externalUrlAllowed('https://docs.backlot.studio/help')).toBe(true);
    for (const url of ['http://x.example', 'file:///C:/Windows/System32/calc.exe', 'smb://share/x', 'ms-msdt:/id', 'javascript:alert(1)', 'garbage']) {
      expect(externalUrlAllowed(url)).toBe(false);
    }
  });

  it('grants only allowlisted permissions, and only to our page', () => {
    expect([...ALLOWED_PERMISSIONS].sort()).toEqual(['clipboard-read', 'clipboard-sanitized-write', 'fullscreen', 'keyboardLock', 'pointerLock']);
    expect(permissionAllowed('fullscreen', 'app://backlot/index.html')).toBe(true);
    expect(permissionAllowed('fullscreen', 'app://backlot')).toBe(true);
    expect(permissionAllowed('fullscreen', 'https://evil.example')).toBe(false);
    for (const p of ['media', 'geolocation', 'notifications', 'openExternal', 'display-capture', 'hid', 'unknown']) {
      expect(permissionAllowed(p, 'app://backlot/index.html')).toBe(false);
    }
  });
});

/** Just enough of BrowserWindow, webContents and session to watch hardenWindow wire things up. */
function fakeWindow() {
  const contents = Object.assign(new EventEmitter(), {
    setWindowOpenHandler: vi.fn(),
    session: Object.assign(new EventEmitter(), {
      setPermissionRequestHandler: vi.fn(),
      setPermissionCheckHandler: vi.fn(),
      setDevicePermissionHandler: vi.fn(),
      webRequest: { onHeadersReceived: vi.fn() },
    }),
  });
  return { win: { webContents: contents } as unknown as BrowserWindow, contents };
}

type Handler<A extends unknown[], R> = (...args: A) => R;
function lastArg<T>(mock: { mock: { calls: unknown[][] } }, index = 0): T {
  return mock.mock.calls.at(-1)?.[index] as T;
}

describe('hardenWindow', () => {
  const deps = () => ({ openExternal: vi.fn(() => Promise.resolve()), csp: () => "default-src 'none'", warn: vi.fn() });

  it('blocks navigation and redirects away from the app', () => {
    const { win, contents } = fakeWindow();
    hardenWindow(win, deps());
    for (const event of ['will-navigate', 'will-redirect']) {
      const away = { url: 'https://evil.example/', preventDefault: vi.fn() };
      const home = { url: 'app://backlot/index.html', preventDefault: vi.fn() };
      contents.emit(event, away);
      contents.emit(event, home);
      expect(away.preventDefault).toHaveBeenCalled();
      expect(home.preventDefault).not.toHaveBeenCalled();
    }
  });

  it('denies every new window, handing only https links to the system browser', () => {
    const { win, contents } = fakeWindow();
    const d = deps();
    hardenWindow(win, d);
    const handler = lastArg<Handler<[{ url: string }], { action: string }>>(contents.setWindowOpenHandler);
    expect(handler({ url: 'https://docs.backlot.studio/' })).toEqual({ action: 'deny' });
    expect(handler({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(d.openExternal).toHaveBeenCalledTimes(1);
    expect(d.openExternal).toHaveBeenCalledWith('https://docs.backlot.studio/');
  });

  it('prevents webviews from being attached', () => {
    const { win, contents } = fakeWindow();
    hardenWindow(win, deps());
    const event = { preventDefault: vi.fn() };
    contents.emit('will-attach-webview', event, {}, {});
    expect(event.preventDefault).toHaveBeenCalled();
  });

  it('installs permission handlers that deny by default, and the CSP on app:// responses', () => {
    const { win, contents } = fakeWindow();
    hardenWindow(win, deps());
    const { session } = contents;

    const request = lastArg<Handler<[unknown, string, (ok: boolean) => void, { requestingUrl: string }], void>>(session.setPermissionRequestHandler);
    const answers: boolean[] = [];
    request(contents, 'media', (ok) => answers.push(ok), { requestingUrl: 'app://backlot/index.html' });
    request(contents, 'pointerLock', (ok) => answers.push(ok), { requestingUrl: 'app://backlot/index.html' });
    expect(answers).toEqual([false, true]);

    const check = lastArg<Handler<[unknown, string, string], boolean>>(session.setPermissionCheckHandler);
    expect(check(contents, 'clipboard-read', 'app://backlot')).toBe(true);
    expect(check(contents, 'geolocation', 'app://backlot')).toBe(false);
    expect(lastArg<Handler<[], boolean>>(session.setDevicePermissionHandler)()).toBe(false);

    const download = { preventDefault: vi.fn() };
    session.emit('will-download', download);
    expect(download.preventDefault).toHaveBeenCalled();

    const onHeaders = lastArg<Handler<[{ url: string; responseHeaders?: Record<string, string[]> }, (r: unknown) => void], void>>(session.webRequest.onHeadersReceived);
    const callback = vi.fn();
    const responseHeaders = { 'content-security-policy': ["script-src 'unsafe-eval'"], 'content-type': ['text/html'] };
    onHeaders({ url: 'app://backlot/index.html', responseHeaders }, callback);
    expect(callback).toHaveBeenLastCalledWith({ responseHeaders: { 'content-type': ['text/html'], 'Content-Security-Policy': ["default-src 'none'"] } });
    // Other origins' responses (the broker's API, say) pass through untouched.
    onHeaders({ url: 'https://broker.studio.example/api/login', responseHeaders }, callback);
    expect(callback).toHaveBeenLastCalledWith({});
  });

  it('hardens each session once, however many windows share it', () => {
    const { win, contents } = fakeWindow();
    hardenWindow(win, deps());
    hardenWindow(win, deps());
    expect(contents.session.setPermissionRequestHandler).toHaveBeenCalledTimes(1);
    expect(contents.listenerCount('will-navigate')).toBe(1);
  });
});
