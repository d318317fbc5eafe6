/**
 * The cross-platform injector for Windows and macOS, on `@jitsi/robotjs`
 * (an optional dependency with prebuilt binaries for win32, darwin and
 * linux). On Linux it injects through X11/XTEST like XTestInjector, which
 * is how it is tested here; XTestInjector stays the default there.
 *
 * Limits, all owed to what robotjs can express (README.md ("The host agent")):
 * - Keys go by *key name* ("a", "-", "f5"), which robotjs turns into a key of
 *   the host's current layout (VkKeyScan on Windows, the layout's character
 *   table on macOS, a keysym on X11). Named keys (arrows, F-keys, modifiers,
 *   Enter...) are physical everywhere, but letters and punctuation land on
 *   the key that *prints* the US character: on an AZERTY host KeyQ types "q"
 *   (the key right of Tab there prints "a"). XTEST keeps the physical position.
 *   IntlBackslash, AltGr (AltRight is plain Alt on Windows) and a right-hand
 *   Meta cannot be named.
 * - Buttons: left, middle, right. Back and forward are not in robotjs; they
 *   are counted (`unsupportedButtons`) and dropped.
 * - Pen: pointer plus left (tip/eraser), right (barrel) and middle (second
 *   barrel). No pressure or tilt: robotjs has no tablet events.
 * - Absolute coordinates map onto the primary display (`getScreenSize()`);
 *   a picture of another monitor or of the whole virtual desktop will not
 *   line up on Windows or macOS.
 * - On X11 a key the server has no keysym for makes robotjs send keycode 0,
 *   which is a BadValue error and Xlib's default handler exits the process.
 *   So on X11 the server's keymap is read once at open and any key or
 *   character it lacks is refused instead of sent.
 */
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { COORD_MAX, type MouseButton } from '../../shared/input.js';
import { HostError } from '../errors.js';
import { closeX11, connectX11, getKeyboardMapping } from '../x11/client.js';
import type { Injector, PenSample } from './injector.js';
import { applyPenButtons } from './pen-buttons.js';
import { KeycodeTable } from './keymap.js';
import { MAX_CLICKS_PER_EVENT, WHEEL_UNITS_PER_CLICK } from './wheel.js';

export const ROBOTJS_PACKAGE = '@jitsi/robotjs';

type RobotButton = 'left' | 'middle' | 'right';

/**
 * The robotjs calls this injector makes. Narrower than the package's
 * index.d.ts, and more exact where that file is incomplete (checked against
 * src/robotjs.cc of 0.6.24): `dragMouse` takes an optional button and
 * `setXDisplayName` exists on Linux builds.
 */
export interface RobotJs {
  setKeyboardDelay(ms: number): void;
  setMouseDelay(ms: number): void;
  keyToggle(key: string, state: 'down' | 'up', modifier?: string | string[]): void;
  keyTap(key: string, modifier?: string | string[]): void;
  /** Types one character: KEYEVENTF_UNICODE on Windows, a Unicode keyboard event on macOS, an ASCII keysym on X11. */
  unicodeTap(codePoint: number): void;
  moveMouse(x: number, y: number): void;
  /** macOS posts a drag event for `button`; elsewhere the same as moveMouse. */
  dragMouse(x: number, y: number, button?: RobotButton): void;
  mouseToggle(state: 'down' | 'up', button: RobotButton): void;
  /** Positive y scrolls up, positive x left; X11: clicks, Windows: 1/120 notches, macOS: pixels. */
  scrollMouse(x: number, y: number): void;
  getMousePos(): { x: number; y: number };
  /** The primary display (Windows, macOS) or X screen 0, in the units moveMouse takes. */
  getScreenSize(): { width: number; height: number };
  /** Windows: re-reads the virtual-screen size moveMouse normalises by. */
  updateScreenMetrics(): void;
  setXDisplayName?(name: string): void;
}

const REQUIRED_FUNCTIONS = [
  'setKeyboardDelay', 'setMouseDelay', 'keyToggle', 'keyTap', 'unicodeTap', 'moveMouse', 'dragMouse',
  'mouseToggle', 'scrollMouse', 'getMousePos', 'getScreenSize', 'updateScreenMetrics',
] as const satisfies readonly (keyof RobotJs)[];

/** How robotjs behaves on the host: X11 (Linux and other Unixes), Windows or macOS. */
export type RobotPlatform = 'x11' | 'win32' | 'darwin';

export function robotPlatformOf(platform: NodeJS.Platform): RobotPlatform {
  return platform === 'win32' || platform === 'darwin' ? platform : 'x11';
}

/** DOM `MouseEvent.button` → robotjs button; back (3) and forward (4) have none. */
const ROBOT_BUTTON_FOR_DOM: ReadonlyMap<number, RobotButton> = new Map([[0, 'left'], [1, 'middle'], [2, 'right']]);
const PEN_BUTTONS = { tip: 'left', barrel: 'right', barrel2: 'middle' } as const;

/** `KeyboardEvent.code` → robotjs key name. A Map: codes come off the wire. */
const ROBOT_KEY_FOR_CODE: ReadonlyMap<string, string> = (() => {
  const m = new Map<string, string>();
  for (let c = 0; c < 26; c++) {
    const letter = String.fromCharCode(0x61 + c);
    m.set(`Key${letter.toUpperCase()}`, letter);
  }
  for (let d = 0; d <= 9; d++) {
    m.set(`Digit${d}`, String(d));
    m.set(`Numpad${d}`, `numpad_${d}`);
  }
  for (let f = 1; f <= 24; f++) m.set(`F${f}`, `f${f}`);
  const fixed: [string, string][] = [
    ['Minus', '-'], ['Equal', '='], ['BracketLeft', '['], ['BracketRight', ']'], ['Backslash', '\\'],
    ['Semicolon', ';'], ['Quote', "'"], ['Backquote', '`'], ['Comma', ','], ['Period', '.'], ['Slash', '/'],
    ['Space', 'space'], ['Enter', 'enter'], ['NumpadEnter', 'enter'], ['Tab', 'tab'], ['Escape', 'escape'],
    ['Backspace', 'backspace'], ['Delete', 'delete'], ['Insert', 'insert'], ['Home', 'home'], ['End', 'end'],
    ['PageUp', 'pageup'], ['PageDown', 'pagedown'], ['ArrowLeft', 'left'], ['ArrowUp', 'up'],
    ['ArrowRight', 'right'], ['ArrowDown', 'down'], ['ShiftLeft', 'shift'], ['ShiftRight', 'right_shift'],
    ['ControlLeft', 'control'], ['ControlRight', 'right_control'], ['AltLeft', 'alt'], ['AltRight', 'right_alt'],
    // robotjs has one Meta key (left Command / left Windows).
    ['MetaLeft', 'command'], ['MetaRight', 'command'], ['CapsLock', 'capslock'], ['ContextMenu', 'menu'],
    ['PrintScreen', 'printscreen'], ['NumLock', 'numpad_lock'], ['NumpadAdd', 'numpad_+'],
    ['NumpadSubtract', 'numpad_-'], ['NumpadMultiply', 'numpad_*'], ['NumpadDivide', 'numpad_/'],
    ['NumpadDecimal', 'numpad_.'], ['AudioVolumeMute', 'audio_mute'], ['AudioVolumeDown', 'audio_vol_down'],
    ['AudioVolumeUp', 'audio_vol_up'], ['MediaPlayPause', 'audio_play'], ['MediaStop', 'audio_stop'],
    ['MediaTrackPrevious', 'audio_prev'], ['MediaTrackNext', 'audio_next'],
  ];
  for (const [code, name] of fixed) m.set(code, name);
  return m;
})();

/** Names robotjs maps to K_NOT_A_KEY on a platform (keycode.h): sending them would inject garbage. */
const NOT_A_KEY: Readonly<Record<RobotPlatform, ReadonlySet<string>>> = {
  win32: new Set(),
  darwin: new Set(['f21', 'f22', 'f23', 'f24', 'insert', 'printscreen', 'menu', 'numpad_lock', 'audio_stop']),
  x11: new Set(['menu', 'numpad_lock', 'numpad_+', 'numpad_-', 'numpad_*', 'numpad_/', 'numpad_.', ...Array.from({ length: 10 }, (_, d) => `numpad_${d}`)]),
};

/** The keysym robotjs sends on X11 for a multi-character key name (keycode.h, X11 section). */
const X11_KEYSYM_FOR_NAME: ReadonlyMap<string, number> = new Map([
  ['backspace', 0xff08], ['delete', 0xffff], ['enter', 0xff0d], ['tab', 0xff09], ['escape', 0xff1b],
  ['up', 0xff52], ['down', 0xff54], ['right', 0xff53], ['left', 0xff51], ['home', 0xff50], ['end', 0xff57],
  ['pageup', 0xff55], ['pagedown', 0xff56], ['command', 0xffeb], ['alt', 0xffe9], ['right_alt', 0xffea],
  ['control', 0xffe3], ['right_control', 0xffe4], ['shift', 0xffe1], ['right_shift', 0xffe2],
  // robotjs sends Shift_Lock for "capslock" on X11, which most keymaps do not bind.
  ['capslock', 0xffe6], ['space', 0x20], ['printscreen', 0xff61], ['insert', 0xff63],
  ['audio_mute', 0x1008ff12], ['audio_vol_down', 0x1008ff11], ['audio_vol_up', 0x1008ff13], ['audio_play', 0x1008ff14],
  ['audio_stop', 0x1008ff15], ['audio_prev', 0x1008ff16], ['audio_next', 0x1008ff17],
  ...Array.from({ length: 24 }, (_, i) => [`f${i + 1}`, 0xffbe + i] as [string, number]),
]);

const APOSTROPHE = 0x27;
const QUOTEDBL = 0x22;

/** The keysym robotjs sends on X11 for a key name (single characters through XStringToKeysym and its own table). */
export function x11KeysymForRobotKey(name: string): number | undefined {
  if (name.length === 1) {
    // robotjs's table maps "'" to quotedbl (the same key on US-like layouts).
    const cp = name.charCodeAt(0);
    return cp === APOSTROPHE ? QUOTEDBL : cp;
  }
  return X11_KEYSYM_FOR_NAME.get(name);
}

/**
 * Pixels one wheel notch scrolls on macOS (robotjs posts pixel scroll events).
 * macOS turns a line-based wheel tick into about ten pixels; untested on a Mac.
 */
export const MAC_PIXELS_PER_NOTCH = 10;

/** Wheel units of each platform's scrollMouse: how many wire units (1/120 notch) make one, and the most per message. */
const WHEEL_SCALE: Readonly<Record<RobotPlatform, { wireUnitsPerStep: number; maxSteps: number }>> = {
  // X11: whole clicks of buttons 4-7, like XTestInjector.
  x11: { wireUnitsPerStep: WHEEL_UNITS_PER_CLICK, maxSteps: MAX_CLICKS_PER_EVENT },
  // Windows: MOUSEEVENTF_WHEEL takes 1/120 notches itself, so high-resolution deltas pass through.
  win32: { wireUnitsPerStep: 1, maxSteps: MAX_CLICKS_PER_EVENT * WHEEL_UNITS_PER_CLICK },
  // macOS: pixel scroll events; one notch = MAC_PIXELS_PER_NOTCH pixels.
  darwin: { wireUnitsPerStep: WHEEL_UNITS_PER_CLICK / MAC_PIXELS_PER_NOTCH, maxSteps: MAX_CLICKS_PER_EVENT * MAC_PIXELS_PER_NOTCH },
};

/** Like WheelAccumulator, for a step size other than one notch. */
class StepAccumulator {
  private remainder = 0;
  constructor(
    private readonly unitsPerStep: number,
    private readonly maxSteps: number,
  ) {}

  add(delta: number): number {
    if (!Number.isFinite(delta)) return 0;
    if (Math.sign(delta) !== 0 && Math.sign(delta) !== Math.sign(this.remainder)) this.remainder = 0;
    this.remainder += delta;
    const steps = Math.trunc(this.remainder / this.unitsPerStep) + 0;
    this.remainder -= steps * this.unitsPerStep;
    return Math.max(-this.maxSteps, Math.min(this.maxSteps, steps));
  }

  reset(): void {
    this.remainder = 0;
  }
}

/** The server keymap on X11: which keysyms exist and where, so nothing unbound reaches robotjs. */
export interface X11Keymap {
  minKeycode: number;
  rows: number[][];
}

export interface RobotInjectorOptions {
  /** Defaults to process.platform. */
  platform?: RobotPlatform;
  /** X11 only: the server's keymap, read at open. */
  x11Keymap?: X11Keymap;
  logger?: Logger;
}

export class RobotInjector implements Injector {
  private readonly platform: RobotPlatform;
  private readonly heldKeys = new Set<string>();
  private readonly heldButtons = new Set<RobotButton>();
  private readonly wheelX: StepAccumulator;
  private readonly wheelY: StepAccumulator;
  private readonly logger: Logger | undefined;
  /** X11: every keysym the server binds, and the table to find a character's key and column. */
  private readonly x11Bound: ReadonlySet<number> | undefined;
  private readonly x11Table: KeycodeTable | undefined;
  private screen = { width: 0, height: 0 };
  private penFlags = 0;
  private closed = false;
  /** Back/forward presses dropped because robotjs has no such buttons. */
  unsupportedButtons = 0;
  /** The pen's last sample: its pressure and tilt go nowhere on this injector. */
  lastPen: PenSample | undefined;

  constructor(
    private readonly robot: RobotJs,
    options: RobotInjectorOptions = {},
  ) {
    this.platform = options.platform ?? robotPlatformOf(process.platform);
    this.logger = options.logger;
    const scale = WHEEL_SCALE[this.platform];
    this.wheelX = new StepAccumulator(scale.wireUnitsPerStep, scale.maxSteps);
    this.wheelY = new StepAccumulator(scale.wireUnitsPerStep, scale.maxSteps);
    if (this.platform === 'x11') {
      if (!options.x11Keymap) throw new Error('RobotInjector on X11 needs the server keymap');
      const { minKeycode, rows } = options.x11Keymap;
      this.x11Bound = new Set(rows.flat().filter((s) => s !== 0));
      this.x11Table = new KeycodeTable(minKeycode, rows);
    }
    // robotjs sleeps 10 ms after every event by default, blocking the event loop.
    robot.setKeyboardDelay(0);
    robot.setMouseDelay(0);
    const { width, height } = robot.getScreenSize();
    this.screen = { width, height };
  }

  /** The size normalised coordinates map onto: the primary display (X screen 0 on Linux). */
  get size(): { width: number; height: number } {
    return { ...this.screen };
  }

  pointerAbs(x: number, y: number): void {
    if (this.closed) return;
    this.refreshScreen();
    const px = Math.round((clampCoord(x) * Math.max(0, this.screen.width - 1)) / COORD_MAX);
    const py = Math.round((clampCoord(y) * Math.max(0, this.screen.height - 1)) / COORD_MAX);
    this.moveTo(px, py);
  }

  pointerRel(dx: number, dy: number): void {
    if (this.closed) return;
    this.call('pointerRel', () => {
      const pos = this.robot.getMousePos();
      this.moveTo(pos.x + Math.trunc(dx), pos.y + Math.trunc(dy));
    });
  }

  button(button: MouseButton, down: boolean): void {
    const robotButton = ROBOT_BUTTON_FOR_DOM.get(button);
    if (!robotButton) {
      if (down && this.unsupportedButtons++ === 0) this.logger?.warn({ button }, 'mouse back/forward buttons cannot be injected with robotjs; dropped');
      return;
    }
    this.setButton(robotButton, down);
  }

  wheel(dx: number, dy: number): void {
    if (this.closed) return;
    const sy = this.wheelY.add(dy);
    const sx = this.wheelX.add(dx);
    // Wire: positive is down/right; robotjs: positive is up/left. "+ 0" keeps -0 out.
    if (sx !== 0 || sy !== 0) this.call('scrollMouse', () => this.robot.scrollMouse(-sx + 0, -sy + 0));
  }

  key(code: string, down: boolean): boolean {
    const name = ROBOT_KEY_FOR_CODE.get(code);
    if (name === undefined || !this.canPress(name)) return false;
    if (this.closed) return true;
    if (down) {
      // Client auto-repeat: the OS repeats a held key itself.
      if (this.heldKeys.has(name)) return true;
      if (!this.call('keyToggle', () => this.robot.keyToggle(name, 'down'))) return false;
      this.heldKeys.add(name);
    } else {
      if (!this.heldKeys.delete(name)) return true;
      this.call('keyToggle', () => this.robot.keyToggle(name, 'up'));
    }
    return true;
  }

  text(text: string): number {
    let untyped = 0;
    for (const ch of text) {
      if (this.closed || !this.typeChar(ch.codePointAt(0)!)) untyped++;
    }
    return untyped;
  }

  pen(sample: PenSample): void {
    this.lastPen = sample;
    this.pointerAbs(sample.x, sample.y);
    this.penFlags = applyPenButtons(sample, this.penFlags, (part, down) => this.setButton(PEN_BUTTONS[part], down));
  }

  releaseAll(): void {
    for (const name of this.heldKeys) this.call('keyToggle', () => this.robot.keyToggle(name, 'up'));
    for (const button of this.heldButtons) this.call('mouseToggle', () => this.robot.mouseToggle('up', button));
    this.heldKeys.clear();
    this.heldButtons.clear();
    this.penFlags = 0;
    this.wheelX.reset();
    this.wheelY.reset();
  }

  holding(): boolean {
    return this.heldKeys.size > 0 || this.heldButtons.size > 0;
  }

  /** Key names and buttons held now, for tests and diagnostics. */
  held(): { keys: string[]; buttons: RobotButton[] } {
    return { keys: [...this.heldKeys], buttons: [...this.heldButtons] };
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.releaseAll();
      this.closed = true;
    }
    // robotjs keeps one process-wide connection (X11) or none; nothing to free.
    return Promise.resolve();
  }

  /** Whether robotjs can press `name` here without injecting garbage (or, on X11, killing the process). */
  private canPress(name: string): boolean {
    if (NOT_A_KEY[this.platform].has(name)) return false;
    if (!this.x11Bound) return true;
    const keysym = x11KeysymForRobotKey(name);
    return keysym !== undefined && this.x11Bound.has(keysym);
  }

  private typeChar(cp: number): boolean {
    if (cp === 0x0a || cp === 0x0d) return this.tap('enter');
    if (cp === 0x09) return this.tap('tab');
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    switch (this.platform) {
      case 'x11':
        return this.typeX11(cp);
      case 'win32':
        if (cp <= 0xffff) return this.call('unicodeTap', () => this.robot.unicodeTap(cp));
        // SendInput takes characters outside the BMP as their two UTF-16 halves.
        return this.call('unicodeTap', () => {
          const units = String.fromCodePoint(cp);
          this.robot.unicodeTap(units.charCodeAt(0));
          this.robot.unicodeTap(units.charCodeAt(1));
        });
      case 'darwin':
        // robotjs narrows the value to one UTF-16 unit before macOS sees it: no emoji and friends.
        return cp <= 0xffff && this.call('unicodeTap', () => this.robot.unicodeTap(cp));
    }
  }

  /**
   * X11: robotjs types a character through the key whose keysym it is, with
   * no Shift of its own for symbols, and only for ASCII. So: printable ASCII
   * whose keysym the server binds, with Shift added when it sits in the
   * shifted column. Anything else is left to XTestInjector's spare keycodes.
   */
  private typeX11(cp: number): boolean {
    const table = this.x11Table!;
    if (cp > 0x7e) return false;
    const located = table.locate(cp);
    if (!located) return false;
    const name = cp === 0x20 ? 'space' : cp === QUOTEDBL ? "'" : String.fromCharCode(cp);
    // robotjs must press the same key we located ("'" is quotedbl to robotjs).
    const sent = x11KeysymForRobotKey(name);
    if (sent === undefined || table.locate(sent)?.keycode !== located.keycode) return false;
    const shiftHeld = this.heldKeys.has('shift') || this.heldKeys.has('right_shift');
    // A held Shift would shift a plain character; releasing the user's Shift is not ours to do.
    if (located.column === 0 && shiftHeld) return false;
    return located.column === 1 && !shiftHeld ? this.tap(name, 'shift') : this.tap(name);
  }

  private tap(name: string, modifier?: string): boolean {
    if (!this.canPress(name)) return false;
    return this.call('keyTap', () => (modifier === undefined ? this.robot.keyTap(name) : this.robot.keyTap(name, modifier)));
  }

  private setButton(button: RobotButton, down: boolean): void {
    if (this.closed) return;
    if (down) {
      if (this.heldButtons.has(button)) return;
      if (this.call('mouseToggle', () => this.robot.mouseToggle('down', button))) this.heldButtons.add(button);
    } else {
      if (!this.heldButtons.delete(button)) return;
      this.call('mouseToggle', () => this.robot.mouseToggle('up', button));
    }
  }

  private moveTo(x: number, y: number): void {
    // macOS only: with a button held, applications see drags, not moves, for the pointer to drag anything.
    const dragging = this.platform === 'darwin' ? [...this.heldButtons][0] : undefined;
    this.call('moveMouse', () => (dragging ? this.robot.dragMouse(x, y, dragging) : this.robot.moveMouse(x, y)));
  }

  /** Follows display-size changes; Windows caches the virtual-screen size moveMouse normalises by. */
  private refreshScreen(): void {
    this.call('getScreenSize', () => {
      const { width, height } = this.robot.getScreenSize();
      if (width === this.screen.width && height === this.screen.height) return;
      this.screen = { width, height };
      this.robot.updateScreenMetrics();
      this.logger?.info({ width, height }, 'primary display size changed');
    });
  }

  /** Runs a robotjs call; robotjs throws on arguments it rejects, which must not take the session down. */
  private call(what: string, fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (err) {
      this.logger?.warn({ err: (err as Error).message, call: what }, 'robotjs call failed');
      return false;
    }
  }
}

function clampCoord(v: number): number {
  return Math.min(COORD_MAX, Math.max(0, v));
}

export interface OpenRobotInjectorOptions {
  /** X11 only: the display to inject into (robotjs otherwise tries ":0.0" before $DISPLAY). */
  display?: string;
  /** Defaults to process.platform. */
  platform?: NodeJS.Platform;
  /** Loads the robotjs module; replaceable for tests. */
  load?: () => unknown;
}

/**
 * Loads the optional `@jitsi/robotjs` and opens a RobotInjector. Rejects with
 * HostError ERR_INJECTOR_UNAVAILABLE when the package is missing or its native
 * binding does not load, and (X11) with ERR_X11_CONNECT when the display does
 * not answer: robotjs itself would crash on a display it cannot open.
 */
export async function openRobotInjector(logger?: Logger, options: OpenRobotInjectorOptions = {}): Promise<RobotInjector> {
  const platform = robotPlatformOf(options.platform ?? process.platform);
  const robot = loadRobot(options.load ?? ((): unknown => createRequire(import.meta.url)(ROBOTJS_PACKAGE)));
  if (platform !== 'x11') return new RobotInjector(robot, { platform, logger });

  const display = options.display ?? process.env.DISPLAY;
  if (!display) throw new HostError('ERR_INJECTOR_UNAVAILABLE', 'robotjs on Linux needs an X display (none given and DISPLAY unset)');
  const dpy = await connectX11(display);
  let keymap: X11Keymap;
  try {
    keymap = { minKeycode: dpy.min_keycode, rows: await getKeyboardMapping(dpy) };
  } finally {
    await closeX11(dpy);
  }
  if (typeof robot.setXDisplayName !== 'function') throw new HostError('ERR_INJECTOR_UNAVAILABLE', `${ROBOTJS_PACKAGE} has no setXDisplayName on this platform`);
  robot.setXDisplayName(display);
  return new RobotInjector(robot, { platform, x11Keymap: keymap, logger });
}

function loadRobot(load: () => unknown): RobotJs {
  let mod: unknown;
  try {
    mod = load();
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((err as Error).message).includes(ROBOTJS_PACKAGE);
    const message = missing
      ? `the optional package ${ROBOTJS_PACKAGE} is not installed (npm install --include=optional); it is needed for input on Windows and macOS`
      : `${ROBOTJS_PACKAGE} could not be loaded on ${process.platform}-${process.arch}: ${(err as Error).message}`;
    throw new HostError('ERR_INJECTOR_UNAVAILABLE', message, { cause: err });
  }
  const missingFns = REQUIRED_FUNCTIONS.filter((f) => typeof (mod as Record<string, unknown> | null)?.[f] !== 'function');
  if (missingFns.length > 0) throw new HostError('ERR_INJECTOR_UNAVAILABLE', `${ROBOTJS_PACKAGE} lacks ${missingFns.join(', ')}`);
  return mod as RobotJs;
}
