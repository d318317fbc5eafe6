/**
 * `KeyboardEvent.code` → X keycode, by *physical* key. A code names a key by
 * its position (KeyA is the key right of Caps Lock, whatever it prints), so we
 * map it to the Linux evdev scancode of that position and add 8: the X
 * keycode Xorg and Xvfb use with their evdev keycode rules. The host's layout
 * then decides which character that key types, exactly like a physical
 * keyboard plugged into the workstation (issue 4).
 *
 * Servers that do not use evdev keycodes (old "xfree86" rules, some VNC
 * servers) are detected from layout-independent keys and fall back to the
 * keysym route: the keysym the key prints on a US layout, looked up in the
 * server's mapping. The same route serves a physical keycode the server
 * leaves unmapped.
 */

// Keysym values from X11/keysymdef.h.
const XK = {
  BackSpace: 0xff08,
  Tab: 0xff09,
  Return: 0xff0d,
  Pause: 0xff13,
  Scroll_Lock: 0xff14,
  Escape: 0xff1b,
  Home: 0xff50,
  Left: 0xff51,
  Up: 0xff52,
  Right: 0xff53,
  Down: 0xff54,
  Page_Up: 0xff55,
  Page_Down: 0xff56,
  End: 0xff57,
  Print: 0xff61,
  Insert: 0xff63,
  Menu: 0xff67,
  Num_Lock: 0xff7f,
  KP_Enter: 0xff8d,
  KP_Multiply: 0xffaa,
  KP_Add: 0xffab,
  KP_Subtract: 0xffad,
  KP_Decimal: 0xffae,
  KP_Divide: 0xffaf,
  KP_0: 0xffb0,
  KP_Equal: 0xffbd,
  F1: 0xffbe,
  Shift_L: 0xffe1,
  Shift_R: 0xffe2,
  Control_L: 0xffe3,
  Control_R: 0xffe4,
  Caps_Lock: 0xffe5,
  Meta_L: 0xffe7,
  Meta_R: 0xffe8,
  Alt_L: 0xffe9,
  Alt_R: 0xffea,
  Super_L: 0xffeb,
  Super_R: 0xffec,
  ISO_Level3_Shift: 0xfe03,
  Delete: 0xffff,
} as const;

/** Largest F-key number X defines keysyms for (F1..F35 are contiguous). */
const MAX_F_KEY = 24;

function ascii(ch: string): number {
  return ch.charCodeAt(0);
}

/**
 * Codes whose keysym is fixed; letters, digits, F-keys and numpad digits are
 * generated below. Looked up through a Map: codes come off the wire, and
 * "constructor" is a valid code that a plain object would answer.
 */
const FIXED = new Map<string, readonly number[]>(Object.entries({
  Minus: [ascii('-')],
  Equal: [ascii('=')],
  BracketLeft: [ascii('[')],
  BracketRight: [ascii(']')],
  Backslash: [ascii('\\')],
  Semicolon: [ascii(';')],
  Quote: [ascii("'")],
  Backquote: [ascii('`')],
  Comma: [ascii(',')],
  Period: [ascii('.')],
  Slash: [ascii('/')],
  // The extra key left of Z on ISO keyboards.
  IntlBackslash: [ascii('<')],
  Space: [ascii(' ')],
  Enter: [XK.Return],
  Tab: [XK.Tab],
  Escape: [XK.Escape],
  Backspace: [XK.BackSpace],
  Delete: [XK.Delete],
  Insert: [XK.Insert],
  Home: [XK.Home],
  End: [XK.End],
  PageUp: [XK.Page_Up],
  PageDown: [XK.Page_Down],
  ArrowLeft: [XK.Left],
  ArrowUp: [XK.Up],
  ArrowRight: [XK.Right],
  ArrowDown: [XK.Down],
  ShiftLeft: [XK.Shift_L],
  ShiftRight: [XK.Shift_R],
  ControlLeft: [XK.Control_L],
  ControlRight: [XK.Control_R],
  AltLeft: [XK.Alt_L, XK.Meta_L],
  // Many European layouts put AltGr (ISO_Level3_Shift) on this key instead of Alt_R.
  AltRight: [XK.Alt_R, XK.ISO_Level3_Shift],
  MetaLeft: [XK.Super_L, XK.Meta_L],
  MetaRight: [XK.Super_R, XK.Meta_R],
  ContextMenu: [XK.Menu],
  CapsLock: [XK.Caps_Lock],
  NumLock: [XK.Num_Lock],
  ScrollLock: [XK.Scroll_Lock],
  Pause: [XK.Pause],
  PrintScreen: [XK.Print],
  NumpadEnter: [XK.KP_Enter],
  NumpadAdd: [XK.KP_Add],
  NumpadSubtract: [XK.KP_Subtract],
  NumpadMultiply: [XK.KP_Multiply],
  NumpadDivide: [XK.KP_Divide],
  NumpadDecimal: [XK.KP_Decimal],
  NumpadEqual: [XK.KP_Equal],
}));

/** Keysyms to try, in order, for a `KeyboardEvent.code`; empty when we know none. */
export function keysymsForCode(code: string): readonly number[] {
  const fixed = FIXED.get(code);
  if (fixed) return fixed;
  let m = /^Key([A-Z])$/.exec(code);
  if (m) return [ascii(m[1]!.toLowerCase())];
  m = /^Digit([0-9])$/.exec(code);
  if (m) return [ascii(m[1]!)];
  m = /^Numpad([0-9])$/.exec(code);
  if (m) return [XK.KP_0 + Number(m[1])];
  m = /^F([1-9][0-9]?)$/.exec(code);
  if (m) {
    const n = Number(m[1]);
    if (n >= 1 && n <= MAX_F_KEY) return [XK.F1 + n - 1];
  }
  return [];
}

/** X keycode = evdev scancode + this, under the evdev keycode rules. */
export const EVDEV_TO_X_OFFSET = 8;

/**
 * Linux evdev scancodes (linux/input-event-codes.h) of the physical keys the
 * W3C UI Events code spec names, as Chromium's keycode_converter_data.inc
 * pairs them. A Map because the codes come off the wire.
 */
export const EVDEV_BY_CODE: ReadonlyMap<string, number> = new Map([
  ['Escape', 1], ['Digit1', 2], ['Digit2', 3], ['Digit3', 4], ['Digit4', 5], ['Digit5', 6], ['Digit6', 7],
  ['Digit7', 8], ['Digit8', 9], ['Digit9', 10], ['Digit0', 11], ['Minus', 12], ['Equal', 13], ['Backspace', 14],
  ['Tab', 15], ['KeyQ', 16], ['KeyW', 17], ['KeyE', 18], ['KeyR', 19], ['KeyT', 20], ['KeyY', 21], ['KeyU', 22],
  ['KeyI', 23], ['KeyO', 24], ['KeyP', 25], ['BracketLeft', 26], ['BracketRight', 27], ['Enter', 28],
  ['ControlLeft', 29], ['KeyA', 30], ['KeyS', 31], ['KeyD', 32], ['KeyF', 33], ['KeyG', 34], ['KeyH', 35],
  ['KeyJ', 36], ['KeyK', 37], ['KeyL', 38], ['Semicolon', 39], ['Quote', 40], ['Backquote', 41], ['ShiftLeft', 42],
  ['Backslash', 43], ['KeyZ', 44], ['KeyX', 45], ['KeyC', 46], ['KeyV', 47], ['KeyB', 48], ['KeyN', 49], ['KeyM', 50],
  ['Comma', 51], ['Period', 52], ['Slash', 53], ['ShiftRight', 54], ['NumpadMultiply', 55], ['AltLeft', 56],
  ['Space', 57], ['CapsLock', 58], ['F1', 59], ['F2', 60], ['F3', 61], ['F4', 62], ['F5', 63], ['F6', 64], ['F7', 65],
  ['F8', 66], ['F9', 67], ['F10', 68], ['NumLock', 69], ['ScrollLock', 70], ['Numpad7', 71], ['Numpad8', 72],
  ['Numpad9', 73], ['NumpadSubtract', 74], ['Numpad4', 75], ['Numpad5', 76], ['Numpad6', 77], ['NumpadAdd', 78],
  ['Numpad1', 79], ['Numpad2', 80], ['Numpad3', 81], ['Numpad0', 82], ['NumpadDecimal', 83], ['Lang5', 85],
  ['IntlBackslash', 86], ['F11', 87], ['F12', 88], ['IntlRo', 89], ['Lang3', 90], ['Lang4', 91], ['Convert', 92],
  ['KanaMode', 93], ['NonConvert', 94], ['NumpadEnter', 96], ['ControlRight', 97], ['NumpadDivide', 98],
  ['PrintScreen', 99], ['AltRight', 100], ['Home', 102], ['ArrowUp', 103], ['PageUp', 104], ['ArrowLeft', 105],
  ['ArrowRight', 106], ['End', 107], ['ArrowDown', 108], ['PageDown', 109], ['Insert', 110], ['Delete', 111],
  ['AudioVolumeMute', 113], ['AudioVolumeDown', 114], ['AudioVolumeUp', 115], ['Power', 116], ['NumpadEqual', 117],
  ['Pause', 119], ['NumpadComma', 121], ['Lang1', 122], ['Lang2', 123], ['IntlYen', 124], ['MetaLeft', 125],
  ['MetaRight', 126], ['ContextMenu', 127], ['BrowserStop', 128], ['Again', 129], ['Props', 130], ['Undo', 131],
  ['Select', 132], ['Copy', 133], ['Open', 134], ['Paste', 135], ['Find', 136], ['Cut', 137], ['Help', 138],
  ['Sleep', 142], ['WakeUp', 143], ['LaunchMail', 155], ['BrowserFavorites', 156], ['BrowserBack', 158],
  ['BrowserForward', 159], ['MediaTrackNext', 163], ['MediaPlayPause', 164], ['MediaTrackPrevious', 165],
  ['MediaStop', 166], ['BrowserHome', 172], ['BrowserRefresh', 173], ['NumpadParenLeft', 179],
  ['NumpadParenRight', 180], ['F13', 183], ['F14', 184], ['F15', 185], ['F16', 186], ['F17', 187], ['F18', 188],
  ['F19', 189], ['F20', 190], ['F21', 191], ['F22', 192], ['F23', 193], ['F24', 194], ['BrowserSearch', 217],
]);

/**
 * Layout-independent keys and the keysym each has at its evdev keycode. If
 * most of them match, the server uses evdev keycodes; "xfree86" rules put
 * the arrows and the navigation block elsewhere (Up = 98, Home = 97).
 */
const EVDEV_PROBES: readonly (readonly [code: string, keysym: number])[] = [
  ['Escape', XK.Escape],
  ['Enter', XK.Return],
  ['ArrowUp', XK.Up],
  ['ArrowLeft', XK.Left],
  ['Home', XK.Home],
  ['Delete', XK.Delete],
  ['F1', XK.F1],
  ['Tab', XK.Tab],
];

/** Physical X keycode of a code under evdev rules, or undefined for codes we do not know. */
export function evdevKeycodeFor(code: string): number | undefined {
  const evdev = EVDEV_BY_CODE.get(code);
  return evdev === undefined ? undefined : evdev + EVDEV_TO_X_OFFSET;
}

/** Maps `KeyboardEvent.code`s to keycodes, and keysyms to keycodes, for one keyboard mapping. */
export class KeycodeTable {
  private readonly byKeysym = new Map<number, number>();
  /** Whether the server uses evdev keycodes, so codes map to physical keycodes. */
  readonly evdev: boolean;

  /**
   * @param minKeycode keycode of `rows[0]`
   * @param rows GetKeyboardMapping reply: the keysyms of each keycode, by column
   */
  constructor(minKeycode: number, rows: readonly (readonly number[])[]) {
    this.minKeycode = minKeycode;
    this.rows = rows;
    // Prefer the unshifted column, then lower keycodes: the key that produces
    // the keysym without modifiers is the one a user would press.
    const columns = rows.reduce((n, row) => Math.max(n, row.length), 0);
    for (let col = 0; col < columns; col++) {
      rows.forEach((row, i) => {
        const sym = row[col];
        if (sym !== undefined && sym !== 0 && !this.byKeysym.has(sym)) this.byKeysym.set(sym, minKeycode + i);
      });
    }
    const matches = EVDEV_PROBES.filter(([code, sym]) => this.symsOf(evdevKeycodeFor(code)!).includes(sym)).length;
    this.evdev = matches * 2 > EVDEV_PROBES.length;
  }

  private readonly minKeycode: number;
  private readonly rows: readonly (readonly number[])[];

  /** The keysyms bound to a keycode (empty when unmapped). */
  symsOf(keycode: number): readonly number[] {
    return (this.rows[keycode - this.minKeycode] ?? []).filter((s) => s !== 0);
  }

  /** Which keycode types `keysym`, and at which column (0 plain, 1 shifted); prefers column 0. */
  locate(keysym: number): { keycode: number; column: 0 | 1 } | undefined {
    for (const column of [0, 1] as const) {
      for (let i = 0; i < this.rows.length; i++) {
        if (this.rows[i]![column] === keysym) return { keycode: this.minKeycode + i, column };
      }
    }
    return undefined;
  }

  /** Keycodes with no keysym at all: free to bind temporarily for the text fallback. */
  spareKeycodes(): number[] {
    const spare: number[] = [];
    this.rows.forEach((row, i) => {
      // Keycode 8 is never produced by a real keyboard but some toolkits ignore it; skip it.
      if (this.minKeycode + i > EVDEV_TO_X_OFFSET && row.every((s) => s === 0)) spare.push(this.minKeycode + i);
    });
    return spare;
  }

  /**
   * The keycode for a `KeyboardEvent.code`, or undefined if the host cannot
   * produce that key. On evdev servers this is the physical key's keycode
   * whenever the server binds anything to it; otherwise (or when it is
   * unbound) the key that prints the code's US keysym.
   */
  keycodeFor(code: string): number | undefined {
    const physical = evdevKeycodeFor(code);
    if (this.evdev && physical !== undefined && this.symsOf(physical).length > 0) return physical;
    for (const sym of keysymsForCode(code)) {
      const keycode = this.byKeysym.get(sym);
      if (keycode !== undefined) return keycode;
    }
    return undefined;
  }
}

/** Unicode code points at or above this map to keysym 0x01000000 + code point (X11 keysymdef.h). */
const LATIN1_END = 0x100;
const UNICODE_KEYSYM_BASE = 0x0100_0000;
/** Keysyms for the control characters that text may carry. */
const CONTROL_KEYSYMS = new Map<number, number>([
  [0x0a, XK.Return],
  [0x0d, XK.Return],
  [0x09, XK.Tab],
  [0x08, XK.BackSpace],
]);

/**
 * The keysym that types one Unicode code point: Latin-1 keysyms equal their
 * code points, every other character has the Unicode keysym 0x01000000 + cp.
 * Undefined for control characters we will not type.
 */
export function keysymForCodePoint(cp: number): number | undefined {
  const control = CONTROL_KEYSYMS.get(cp);
  if (control !== undefined) return control;
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return undefined;
  if (cp < LATIN1_END) return cp;
  if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
  return UNICODE_KEYSYM_BASE + cp;
}

/** Keysyms of the Shift keys, to know whether a held key shifts. */
export const SHIFT_KEYSYMS: ReadonlySet<number> = new Set([XK.Shift_L, XK.Shift_R]);
/** Shift_L, for typing shifted characters of the text fallback. */
export const SHIFT_L_KEYSYM = XK.Shift_L;
