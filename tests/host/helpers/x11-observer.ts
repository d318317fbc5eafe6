/**
 * A test-only X client: a full-screen window that takes the keyboard focus and
 * records the key and button events the server delivers to it, so tests see
 * what an application on the host would see.
 */
import x11 from 'x11';
import { closeX11, connectX11, getKeyboardMapping, type X11Client, type X11Display, type X11Event } from '../../../src/host/x11/client.js';

interface ObserverClient extends X11Client {
  AllocID(): number;
  CreateWindow(id: number, parent: number, x: number, y: number, w: number, h: number, border: number, depth: number, cls: number, visual: number, values: { eventMask: number }): void;
  MapWindow(id: number): void;
  SetInputFocus(id: number, revertTo: number): void;
  QueryKeymap(cb: (err: Error | null, keys: Buffer) => void): void;
}

const eventMask = (x11 as { eventMask: Record<string, number> }).eventMask;

export interface ObservedEvent {
  name: string;
  /** Keycode for key events, button for button events. */
  detail: number;
}

export class X11Observer {
  readonly events: ObservedEvent[] = [];
  private rows: number[][] = [];

  private constructor(
    private readonly dpy: X11Display,
    private readonly client: ObserverClient,
  ) {}

  static async open(display: string): Promise<X11Observer> {
    const dpy = await connectX11(display);
    const client = dpy.client as ObserverClient;
    const screen = dpy.screen[0]!;
    const observer = new X11Observer(dpy, client);
    observer.rows = await getKeyboardMapping(dpy);
    const wid = client.AllocID();
    client.CreateWindow(wid, screen.root, 0, 0, screen.pixel_width, screen.pixel_height, 0, 0, 0, 0, {
      eventMask: eventMask.KeyPress! | eventMask.KeyRelease! | eventMask.ButtonPress! | eventMask.ButtonRelease!,
    });
    client.MapWindow(wid);
    await client.sync();
    client.SetInputFocus(wid, 1);
    await client.sync();
    client.on('event', (ev: X11Event) => {
      if (['KeyPress', 'KeyRelease', 'ButtonPress', 'ButtonRelease'].includes(ev.name)) observer.events.push({ name: ev.name, detail: ev.keycode ?? -1 });
    });
    return observer;
  }

  /** The unshifted keysym of a keycode on this server. */
  keysymOf(keycode: number): number | undefined {
    return this.rows[keycode - this.dpy.min_keycode]?.[0];
  }

  /** Keycodes the server currently considers pressed. */
  async pressedKeycodes(): Promise<number[]> {
    const bits = await new Promise<Buffer>((resolve, reject) => this.client.QueryKeymap((err, keys) => (err ? reject(err) : resolve(keys))));
    const pressed: number[] = [];
    for (let code = 0; code < 256; code++) if ((bits[code >> 3]! >> (code & 7)) & 1) pressed.push(code);
    return pressed;
  }

  /** Waits until `count` events have arrived (or throws after `timeoutMs`). */
  async waitForEvents(count: number, timeoutMs = 3_000): Promise<ObservedEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} X events, got ${JSON.stringify(this.events)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.events.splice(0, count);
  }

  close(): Promise<void> {
    return closeX11(this.dpy);
  }
}
