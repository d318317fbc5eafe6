/**
 * The one place where the untyped `x11` package meets our types: a narrow
 * interface covering exactly the calls the host agent makes, and promise
 * wrappers for connecting and querying. Everything else imports from here.
 */
import x11 from 'x11';
import { HostError } from '../errors.js';

/** Give up connecting to the X server after this long. */
const CONNECT_TIMEOUT_MS = 5_000;

export interface X11Screen {
  root: number;
  pixel_width: number;
  pixel_height: number;
}

/** An X event as the package unpacks it; only the fields we read. */
export interface X11Event {
  type: number;
  name: string;
  /** Key code for key events, button number for button events. */
  keycode?: number;
  wid?: number;
}

export interface X11Client {
  on(event: 'error', listener: (err: Error) => void): void;
  on(event: 'event', listener: (ev: X11Event) => void): void;
  on(event: 'end' | 'close', listener: () => void): void;
  /** Loads an extension module of the x11 package (lib/ext/<name>.js); the caller names its type. */
  require<T>(name: string, cb: (err: Error | null, ext: T) => void): void;
  GetKeyboardMapping(first: number, count: number, cb: (err: Error | null, rows: number[][]) => void): void;
  /**
   * Core request 100. Packed by lib/corereqs.js in x11 4.2 (checked: earlier
   * releases had it as a stub); `keysyms` is keycodeCount × perKeycode long.
   */
  ChangeKeyboardMapping(firstKeycode: number, keysymsPerKeycode: number, keysyms: number[]): void;
  /** Round trip: resolves once every earlier request has been processed. */
  sync(): Promise<void>;
  close(cb?: (err?: Error) => void): void;
  terminate(): void;
}

export interface X11Display {
  client: X11Client;
  screen: X11Screen[];
  min_keycode: number;
  max_keycode: number;
}

/** XTEST as lib/ext/xtest.js exposes it. */
export interface XTestExtension {
  KeyPress: number;
  KeyRelease: number;
  ButtonPress: number;
  ButtonRelease: number;
  MotionNotify: number;
  /** type, detail (keycode / button / relative flag), time, root window, x, y */
  FakeInput(type: number, detail: number, time: number, root: number, x: number, y: number): void;
}

interface X11Module {
  createClient(options: { display: string }, cb: (err: Error | null, display: X11Display) => void): X11Client;
}

const lib = x11 as X11Module;

/** Opens a connection to an X display (":99", "host:0.0"). */
export function connectX11(display: string): Promise<X11Display> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      reject(new HostError('ERR_X11_CONNECT', `X display ${display} did not answer within ${CONNECT_TIMEOUT_MS} ms`));
    }, CONNECT_TIMEOUT_MS);
    try {
      const client = lib.createClient({ display }, (err, dpy) => {
        clearTimeout(timer);
        if (settled) {
          if (!err) dpy.client.terminate();
          return;
        }
        settled = true;
        if (err) reject(new HostError('ERR_X11_CONNECT', `cannot open X display ${display}: ${err.message}`, { cause: err }));
        else resolve(dpy);
      });
      // Without a listener an async X error (or a handshake failure reported
      // through 'error') would throw from an EventEmitter and kill the agent.
      client.on('error', (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new HostError('ERR_X11_CONNECT', `cannot open X display ${display}: ${err.message}`, { cause: err }));
      });
    } catch (err) {
      // parseDisplay throws synchronously on a malformed display string.
      clearTimeout(timer);
      settled = true;
      reject(new HostError('ERR_X11_CONNECT', `invalid X display ${JSON.stringify(display)}`, { cause: err }));
    }
  });
}

/** Closes a connection, waiting for the server to have seen every request. */
export function closeX11(dpy: X11Display): Promise<void> {
  return new Promise((resolve) => {
    try {
      dpy.client.close(() => resolve());
    } catch {
      // Already closing or closed: nothing left to flush.
      resolve();
    }
  });
}

/** Size in pixels of the display's first screen. */
export async function queryScreenSize(display: string): Promise<{ width: number; height: number }> {
  const dpy = await connectX11(display);
  try {
    const screen = dpy.screen[0];
    if (!screen) throw new HostError('ERR_X11_CONNECT', `X display ${display} reports no screen`);
    return { width: screen.pixel_width, height: screen.pixel_height };
  } finally {
    await closeX11(dpy);
  }
}

/** Loads XTEST on an open connection. */
export function requireXTest(dpy: X11Display): Promise<XTestExtension> {
  return new Promise((resolve, reject) => {
    dpy.client.require<XTestExtension>('xtest', (err, ext) => {
      if (err) reject(new HostError('ERR_XTEST_UNAVAILABLE', `XTEST extension unavailable: ${err.message}`, { cause: err }));
      else resolve(ext);
    });
  });
}

/** The server's keysym table: row i lists the keysyms of keycode min_keycode + i. */
export function getKeyboardMapping(dpy: X11Display): Promise<number[][]> {
  return new Promise((resolve, reject) => {
    const count = dpy.max_keycode - dpy.min_keycode + 1;
    dpy.client.GetKeyboardMapping(dpy.min_keycode, count, (err, rows) => {
      if (err) reject(err);
      else resolve(rows);
    });
  });
}
