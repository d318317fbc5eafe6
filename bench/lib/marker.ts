/**
 * The glass-to-glass marker: an override-redirect X window of our own,
 * drawn over the desktop content, whose colour we change at a recorded time.
 * Xvfb has no compositor, so its framebuffer holds the new colour as soon as
 * the server has processed the request; a round trip (GetInputFocus) after
 * each change tells us it has, and the time is taken right after the reply.
 */
import x11 from 'x11';

/** Marker colours, cycled in order; far apart in RGB and in chroma so lossy video keeps them apart. */
export const PALETTE: readonly (readonly [number, number, number])[] = [
  [0, 0, 0],
  [255, 255, 255],
  [255, 0, 0],
  [0, 0, 255],
  [0, 255, 0],
  [255, 255, 0],
];

interface XClient {
  AllocID(): number;
  CreateWindow(id: number, parent: number, x: number, y: number, w: number, h: number, border: number, depth: number, cls: number, visual: number, values: Record<string, number>): void;
  ChangeWindowAttributes(id: number, values: Record<string, number>): void;
  ConfigureWindow(id: number, values: Record<string, number>): void;
  MapWindow(id: number): void;
  ClearArea(id: number, x: number, y: number, w: number, h: number, exposures: number): void;
  DestroyWindow(id: number): void;
  GetInputFocus(cb: (err: Error | null) => void): void;
  on(event: 'error', cb: (err: Error) => void): void;
  close(cb?: () => void): void;
  terminate(): void;
}

interface XDisplay {
  client: XClient;
  screen: { root: number }[];
}

const lib = x11 as unknown as { createClient(o: { display: string }, cb: (err: Error | null, d: XDisplay) => void): XClient };

export interface Flip {
  /** Flip number, from 1. */
  i: number;
  /** Index into PALETTE. */
  cls: number;
  /** Epoch ms (performance.timeOrigin + performance.now()) just before the requests were written. */
  tSent: number;
  /** Epoch ms right after the server answered the round trip that followed them: the change is on the framebuffer. */
  t: number;
}

export interface Marker {
  /** Changes the colour to the next in the palette; resolves once the server has applied it. */
  flip(): Promise<Flip>;
  close(): Promise<void>;
}

const now = () => performance.timeOrigin + performance.now();

export function openMarker(display: string, x: number, y: number, size: number): Promise<Marker> {
  return new Promise((resolve, reject) => {
    const client = lib.createClient({ display }, (err, dpy) => {
      if (err) return reject(err);
      const c = dpy.client;
      const root = dpy.screen[0]!.root;
      const wid = c.AllocID();
      const pixel = (cls: number) => {
        const [r, g, b] = PALETTE[cls]!;
        return (r << 16) | (g << 8) | b;
      };
      // class 1 = InputOutput; override-redirect keeps it out of any window manager's hands.
      c.CreateWindow(wid, root, x, y, size, size, 0, 0, 1, 0, { backgroundPixel: pixel(0), overrideRedirect: 1 });
      c.MapWindow(wid);
      let cls = 0;
      let n = 0;
      const roundTrip = () => new Promise<void>((res, rej) => c.GetInputFocus((e) => (e ? rej(e) : res())));
      void roundTrip().then(() =>
        resolve({
          async flip() {
            cls = (cls + 1) % PALETTE.length;
            n += 1;
            const tSent = now();
            c.ChangeWindowAttributes(wid, { backgroundPixel: pixel(cls) });
            // Stay above the content window (stackMode 0 = Above), then repaint with the new background.
            c.ConfigureWindow(wid, { stackMode: 0 });
            c.ClearArea(wid, 0, 0, 0, 0, 0);
            await roundTrip();
            return { i: n, cls, tSent, t: now() };
          },
          close: () =>
            new Promise<void>((res) => {
              try {
                c.DestroyWindow(wid);
                c.close(() => res());
              } catch {
                res();
              }
              setTimeout(res, 1_000).unref();
            }),
        }),
      );
    });
    client.on('error', (err) => reject(err));
  });
}
