/**
 * Monitors of an X display, from RandR (one per active CRTC, named after its
 * first output) or, where RandR is missing (Xvfb started with
 * `-extension RANDR` disables it), the one screen.
 */
import type { Monitor } from '../../shared/control.js';
import { closeX11, connectX11, type X11Display } from './client.js';

/** RandR calls we make; lib/ext/randr.js in the x11 package. */
interface RandrExtension {
  GetScreenResourcesCurrent(win: number, cb: (err: Error | null, res: { config_timestamp: number; crtcs: number[] }) => void): void;
  GetCrtcInfo(crtc: number, ts: number, cb: (err: Error | null, info: { x: number; y: number; width: number; height: number; mode: number; outputs: number[] }) => void): void;
  GetOutputInfo(output: number, ts: number, cb: (err: Error | null, info: { name: string }) => void): void;
  GetOutputPrimary(win: number, cb: (err: Error | null, output: number) => void): void;
}

/** The id of the whole display, as a QualityRequest `monitor`. */
export const ALL_MONITORS = 'all';
/** Largest number of monitors reported (the `hello` schema's limit). */
const MAX_MONITORS = 16;

const call = <T>(fn: (cb: (err: Error | null, value: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));

/** The one-screen answer, used when RandR is absent or reports nothing usable. */
export function wholeScreen(dpy: X11Display): Monitor[] {
  const screen = dpy.screen[0];
  if (!screen) return [];
  return [{ id: 'screen0', name: 'Screen 0', x: 0, y: 0, width: screen.pixel_width, height: screen.pixel_height, primary: true }];
}

async function randrMonitors(dpy: X11Display): Promise<Monitor[]> {
  const randr = await call<RandrExtension>((cb) => dpy.client.require<RandrExtension>('randr', cb));
  const root = dpy.screen[0]!.root;
  const res = await call<{ config_timestamp: number; crtcs: number[] }>((cb) => randr.GetScreenResourcesCurrent(root, cb));
  const primary = await call<number>((cb) => randr.GetOutputPrimary(root, cb)).catch(() => 0);
  const monitors: Monitor[] = [];
  for (const crtc of res.crtcs) {
    const info = await call<{ x: number; y: number; width: number; height: number; mode: number; outputs: number[] }>((cb) =>
      randr.GetCrtcInfo(crtc, res.config_timestamp, cb),
    );
    const output = info.outputs[0];
    if (info.mode === 0 || output === undefined || info.width === 0) continue;
    const out = await call<{ name: string }>((cb) => randr.GetOutputInfo(output, res.config_timestamp, cb));
    const name = out.name.replace(/[^\x20-\x7e]/g, '').slice(0, 64) || `crtc-${crtc}`;
    monitors.push({ id: name, name, x: info.x, y: info.y, width: info.width, height: info.height, primary: info.outputs.includes(primary) });
    if (monitors.length === MAX_MONITORS) break;
  }
  return monitors;
}

/** Lists the display's monitors; never empty for a working display. */
export async function listMonitors(display: string): Promise<Monitor[]> {
  const dpy = await connectX11(display);
  try {
    try {
      const monitors = await randrMonitors(dpy);
      if (monitors.length > 0) {
        if (!monitors.some((m) => m.primary)) monitors[0]!.primary = true;
        return monitors;
      }
    } catch {
      // No RandR (or a server that answers it oddly): the one screen is the truth.
    }
    return wholeScreen(dpy);
  } finally {
    await closeX11(dpy);
  }
}
