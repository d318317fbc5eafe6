/**
 * Injects input into an X display through the XTEST extension, by keycode.
 * Tracks every key and button it holds so `releaseAll()` can guarantee that
 * nothing stays stuck when a session ends or a channel drops.
 */
import type { Logger } from 'pino';
import { COORD_MAX, type MouseButton } from '../../shared/input.js';
import {
  closeX11,
  connectX11,
  getKeyboardMapping,
  requireXTest,
  type X11Display,
  type X11Screen,
  type XTestExtension,
} from '../x11/client.js';
import type { Injector } from './injector.js';
import { KeycodeTable } from './keymap.js';
import { WheelAccumulator } from './wheel.js';

/** DOM `MouseEvent.button` → X button: left, middle, right, back, forward. */
const X_BUTTON_FOR_DOM: Readonly<Record<MouseButton, number>> = { 0: 1, 1: 2, 2: 3, 3: 8, 4: 9 };
/** X's wheel buttons: up, down, left, right. */
const X_WHEEL = { up: 4, down: 5, left: 6, right: 7 } as const;
/** XTEST `time` argument meaning "now". */
const CURRENT_TIME = 0;
/** MotionNotify detail: 0 = absolute, 1 = relative. */
const MOTION_ABSOLUTE = 0;
const MOTION_RELATIVE = 1;
/** The X event code of MappingNotify: the server's keyboard mapping changed. */
const MAPPING_NOTIFY = 34;

export class XTestInjector implements Injector {
  private readonly heldKeys = new Set<number>();
  private readonly heldButtons = new Set<number>();
  private readonly wheelX = new WheelAccumulator();
  private readonly wheelY = new WheelAccumulator();
  private keycodes: KeycodeTable;
  private alive = true;

  private constructor(
    private readonly dpy: X11Display,
    private readonly xtest: XTestExtension,
    private readonly screen: X11Screen,
    rows: number[][],
    private readonly logger: Logger | undefined,
  ) {
    this.keycodes = new KeycodeTable(dpy.min_keycode, rows);
    dpy.client.on('error', (err) => {
      // Async X errors (a bad keycode, say) must not take the agent down.
      this.logger?.warn({ err: err.message }, 'X error during input injection');
    });
    dpy.client.on('end', () => {
      this.alive = false;
      this.logger?.warn('X connection for input injection closed');
    });
    dpy.client.on('event', (ev) => {
      if (ev.type === MAPPING_NOTIFY) void this.reloadKeymap();
    });
  }

  /** Connects to `display` and loads XTEST and the keyboard mapping. */
  static async open(display: string, logger?: Logger): Promise<XTestInjector> {
    const dpy = await connectX11(display);
    try {
      const xtest = await requireXTest(dpy);
      const rows = await getKeyboardMapping(dpy);
      const screen = dpy.screen[0];
      if (!screen) throw new Error(`X display ${display} reports no screen`);
      return new XTestInjector(dpy, xtest, screen, rows, logger);
    } catch (err) {
      await closeX11(dpy);
      throw err;
    }
  }

  /** Screen size in pixels that normalised coordinates map onto. */
  get size(): { width: number; height: number } {
    return { width: this.screen.pixel_width, height: this.screen.pixel_height };
  }

  pointerAbs(x: number, y: number): void {
    const px = Math.round((clampCoord(x) * (this.screen.pixel_width - 1)) / COORD_MAX);
    const py = Math.round((clampCoord(y) * (this.screen.pixel_height - 1)) / COORD_MAX);
    this.fake(this.xtest.MotionNotify, MOTION_ABSOLUTE, px, py);
  }

  pointerRel(dx: number, dy: number): void {
    this.fake(this.xtest.MotionNotify, MOTION_RELATIVE, Math.trunc(dx), Math.trunc(dy));
  }

  button(button: MouseButton, down: boolean): void {
    const xButton = X_BUTTON_FOR_DOM[button];
    this.setButton(xButton, down);
  }

  wheel(dx: number, dy: number): void {
    this.clicks(this.wheelY.add(dy), X_WHEEL.down, X_WHEEL.up);
    this.clicks(this.wheelX.add(dx), X_WHEEL.right, X_WHEEL.left);
  }

  key(code: string, down: boolean): boolean {
    const keycode = this.keycodes.keycodeFor(code);
    if (keycode === undefined) return false;
    if (down) {
      // The client's auto-repeat arrives as repeated downs; the X server
      // repeats held keys itself, so a second press would double the rate.
      if (this.heldKeys.has(keycode)) return true;
      this.heldKeys.add(keycode);
      this.fake(this.xtest.KeyPress, keycode, 0, 0);
    } else {
      // A release for a key we never pressed would be a stray event for the host.
      if (!this.heldKeys.delete(keycode)) return true;
      this.fake(this.xtest.KeyRelease, keycode, 0, 0);
    }
    return true;
  }

  releaseAll(): void {
    for (const keycode of this.heldKeys) this.fake(this.xtest.KeyRelease, keycode, 0, 0);
    for (const button of this.heldButtons) this.fake(this.xtest.ButtonRelease, button, 0, 0);
    this.heldKeys.clear();
    this.heldButtons.clear();
    this.wheelX.reset();
    this.wheelY.reset();
  }

  /** Keys and buttons currently held, for tests and diagnostics. */
  held(): { keycodes: number[]; buttons: number[] } {
    return { keycodes: [...this.heldKeys], buttons: [...this.heldButtons] };
  }

  /** Waits until the server has processed everything injected so far. */
  async flush(): Promise<void> {
    if (this.alive) await this.dpy.client.sync();
  }

  async close(): Promise<void> {
    if (!this.alive) return;
    this.releaseAll();
    this.alive = false;
    await closeX11(this.dpy);
  }

  private setButton(xButton: number, down: boolean): void {
    if (down) {
      if (this.heldButtons.has(xButton)) return;
      this.heldButtons.add(xButton);
      this.fake(this.xtest.ButtonPress, xButton, 0, 0);
    } else {
      if (!this.heldButtons.delete(xButton)) return;
      this.fake(this.xtest.ButtonRelease, xButton, 0, 0);
    }
  }

  private clicks(count: number, positiveButton: number, negativeButton: number): void {
    const button = count > 0 ? positiveButton : negativeButton;
    for (let i = 0; i < Math.abs(count); i++) {
      this.fake(this.xtest.ButtonPress, button, 0, 0);
      this.fake(this.xtest.ButtonRelease, button, 0, 0);
    }
  }

  private fake(type: number, detail: number, x: number, y: number): void {
    if (!this.alive) return;
    try {
      this.xtest.FakeInput(type, detail, CURRENT_TIME, this.screen.root, x, y);
    } catch (err) {
      // The package throws once the client is closing; the session is ending anyway.
      this.alive = false;
      this.logger?.warn({ err: (err as Error).message }, 'input injection stopped');
    }
  }

  private async reloadKeymap(): Promise<void> {
    try {
      this.keycodes = new KeycodeTable(this.dpy.min_keycode, await getKeyboardMapping(this.dpy));
      this.logger?.info('keyboard mapping reloaded');
    } catch (err) {
      this.logger?.warn({ err: (err as Error).message }, 'could not reload keyboard mapping');
    }
  }
}

function clampCoord(v: number): number {
  return Math.min(COORD_MAX, Math.max(0, v));
}
