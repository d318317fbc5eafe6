/**
 * Creates every Backlot window: the main window and one per session. The
 * security preferences are written out at the `new BrowserWindow` call (on top
 * of `windowOptions()`, which the tests check) so static scanners such as
 * Electronegativity see them where the window is made, and `hardenWindow()`
 * is applied before anything loads.
 */
import { BrowserWindow } from 'electron';
import { hardenWindow, windowOptions, type HardenDeps } from './harden.js';

export interface AppWindowOptions {
  preloadPath: string;
  devTools: boolean;
  url: string;
  title: string;
  fullscreen?: boolean;
  hardenDeps: HardenDeps;
  onLoadError: (err: unknown) => void;
}

/** Creates, hardens, loads and (when ready) shows a window. */
export function createAppWindow(options: AppWindowOptions): BrowserWindow {
  const base = windowOptions({ preloadPath: options.preloadPath, devTools: options.devTools });
  const win = new BrowserWindow({
    ...base,
    title: options.title,
    fullscreen: options.fullscreen === true,
    webPreferences: {
      ...base.webPreferences,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
    },
  });
  hardenWindow(win, options.hardenDeps);
  win.once('ready-to-show', () => win.show());
  win.loadURL(options.url).catch(options.onLoadError);
  return win;
}
