/**
 * Injects input into an X display through the XTEST extension, by physical
 * keycode (see keymap.ts), so the workstation's own layout applies. Tracks
 * every key and button it holds so `releaseAll()` can guarantee that nothing
 * stays stuck when a session ends, a channel drops or heartbeats stop.
 *
 * Text fallback: a character no key of the host layout types is bound for a
 * moment to a spare (unbound) keycode with core ChangeKeyboardMapping
 * (request 100), pressed, and the binding is undone on close. Spare keycodes
 * are used round robin and not rebound for REBIND_GUARD_MS, because X
 * clients re-read the mapping lazily after MappingNotify: rebinding a
 * keycode before the application has looked up the previous press would
 * make it read the new character (the race xdotool works around with delays).
 *
 * Pen: XTEST cannot carry pressure or tilt; the pen drives the pointer, its
 * tip (or eraser) the left button, the barrel buttons right and middle.
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
import type { Injector, PenSample } from './injector.js';
import { applyPenButtons } from './pen-buttons.js';
import { KeycodeTable, keysymForCodePoint, SHIFT_KEYSYMS, SHIFT_L_KEYSYM } from './keymap.js';
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
/** A spare keycode keeps its temporary binding at least this long before it is rebound. */
export const REBIND_GUARD_MS = 300;
/** Keysyms written per keycode when binding a spare: the same keysym plain and shifted, so Shift does not matter. */
const SPARE_KEYSYMS_PER_KEYCODE = 2;
/** X buttons the pen drives: tip/eraser, first and second barrel button. */
const PEN_BUTTONS = { tip: 1, barrel: 3, barrel2: 2 } as const;

interface SpareBinding {
  keysym: number;
  boundAt: number;
}

export class XTestInjector implements Injector {
  private readonly heldKeys = new Set<number>();
  private readonly heldButtons = new Set<number>();
  private readonly wheelX = new WheelAccumulator();
  private readonly wheelY = new WheelAccumulator();
  private keycodes: KeycodeTable;
  private alive = true;
  /** Keycodes free for the text fallback, fixed at open so our own bindings do not hide them. */
  private readonly spares: number[];
  private readonly spareBindings = new Map<number, SpareBinding>();
  private nextSpare = 0;
  /** The pen's flags from its previous sample, to turn flag changes into presses and releases. */
  private penFlags = 0;
  /** Where the pen's pressure and tilt end up on this platform: nowhere but here, for diagnostics. */
  lastPen: PenSample | undefined;

  private constructor(
    private readonly dpy: X11Display,
    private readonly xtest: XTestExtension,
    private readonly screen: X11Screen,
    rows: number[][],
    private readonly logger: Logger | undefined,
  ) {
    this.keycodes = new KeycodeTable(dpy.min_keycode, rows);
    this.spares = this.keycodes.spareKeycodes();
    if (!this.keycodes.evdev) logger?.warn('X server does not use evdev keycodes; keys are mapped by US keysym instead of physical position');
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

  /** Whether codes are injected by physical keycode (the server uses evdev keycodes). */
  get physicalKeys(): boolean {
    return this.keycodes.evdev;
  }

  key(code: string, down: boolean): boolean {
    const keycode = this.keycodes.keycodeFor(code);
    if (keycode === undefined) return false;
    this.setKey(keycode, down);
    return true;
  }

  async text(text: string): Promise<number> {
    let untyped = 0;
    for (const ch of text) {
      const keysym = keysymForCodePoint(ch.codePointAt(0)!);
      if (keysym === undefined || !this.alive) {
        untyped++;
        continue;
      }
      if (!(await this.typeKeysym(keysym))) untyped++;
    }
    return untyped;
  }

  pen(sample: PenSample): void {
    this.lastPen = sample;
    this.pointerAbs(sample.x, sample.y);
    this.penFlags = applyPenButtons(sample, this.penFlags, (part, down) => this.setButton(PEN_BUTTONS[part], down));
  }

  holding(): boolean {
    return this.heldKeys.size > 0 || this.heldButtons.size > 0;
  }

  private setKey(keycode: number, down: boolean): void {
    if (down) {
      // The client's auto-repeat arrives as repeated downs; the X server
      // repeats held keys itself, so a second press would double the rate.
      if (this.heldKeys.has(keycode)) return;
      this.heldKeys.add(keycode);
      this.fake(this.xtest.KeyPress, keycode, 0, 0);
    } else {
      // A release for a key we never pressed would be a stray event for the host.
      if (!this.heldKeys.delete(keycode)) return;
      this.fake(this.xtest.KeyRelease, keycode, 0, 0);
    }
  }

  /** Types one keysym: with the key that has it (adding Shift if needed), else through a spare keycode. */
  private async typeKeysym(keysym: number): Promise<boolean> {
    const shiftHeld = [...this.heldKeys].some((k) => this.keycodes.symsOf(k).some((s) => SHIFT_KEYSYMS.has(s)));
    const bound = [...this.spareBindings].find(([, b]) => b.keysym === keysym)?.[0];
    const located = bound === undefined ? this.keycodes.locate(keysym) : undefined;
    if (bound !== undefined) {
      this.tap(bound);
      return true;
    }
    // A held Shift would turn a plain character into its shifted one; the spare route is immune.
    if (located && !this.spares.includes(located.keycode) && (located.column === 1 || !shiftHeld)) {
      const shift = located.column === 1 && !shiftHeld ? this.keycodes.locate(SHIFT_L_KEYSYM)?.keycode : undefined;
      if (shift !== undefined) this.fake(this.xtest.KeyPress, shift, 0, 0);
      this.tap(located.keycode);
      if (shift !== undefined) this.fake(this.xtest.KeyRelease, shift, 0, 0);
      return true;
    }
    const spare = await this.bindSpare(keysym);
    if (spare === undefined) return false;
    this.tap(spare);
    return true;
  }

  private tap(keycode: number): void {
    this.fake(this.xtest.KeyPress, keycode, 0, 0);
    this.fake(this.xtest.KeyRelease, keycode, 0, 0);
  }

  /** Binds `keysym` to the next spare keycode, waiting out its guard time if it was bound just now. */
  private async bindSpare(keysym: number): Promise<number | undefined> {
    if (this.spares.length === 0) {
      this.logger?.warn('no spare keycode for the text fallback; character dropped');
      return undefined;
    }
    const keycode = this.spares[this.nextSpare]!;
    this.nextSpare = (this.nextSpare + 1) % this.spares.length;
    const previous = this.spareBindings.get(keycode);
    if (previous) {
      const wait = previous.boundAt + REBIND_GUARD_MS - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    if (!this.alive) return undefined;
    this.dpy.client.ChangeKeyboardMapping(keycode, SPARE_KEYSYMS_PER_KEYCODE, [keysym, keysym]);
    this.spareBindings.set(keycode, { keysym, boundAt: performance.now() });
    // The press must reach the server after the new binding; a round trip guarantees it has been applied.
    await this.dpy.client.sync();
    return keycode;
  }

  /** Gives the spare keycodes back their original (empty) binding. */
  private unbindSpares(): void {
    for (const keycode of this.spareBindings.keys()) {
      try {
        this.dpy.client.ChangeKeyboardMapping(keycode, SPARE_KEYSYMS_PER_KEYCODE, [0, 0]);
      } catch {
        return; // connection closing: the server drops our bindings' effect with nothing pressed
      }
    }
    this.spareBindings.clear();
  }

  releaseAll(): void {
    for (const keycode of this.heldKeys) this.fake(this.xtest.KeyRelease, keycode, 0, 0);
    for (const button of this.heldButtons) this.fake(this.xtest.ButtonRelease, button, 0, 0);
    this.heldKeys.clear();
    this.heldButtons.clear();
    this.penFlags = 0;
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
    this.unbindSpares();
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
