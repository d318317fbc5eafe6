/**
 * `KeyboardEvent.code` → X keysym, and keysym → keycode through the server's
 * keyboard mapping. Codes name physical keys on a US layout; we translate
 * each to the keysym that key produces unshifted on a US layout and then ask
 * the host's mapping which keycode produces it, so the host's layout applies.
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

/** Maps keysyms to keycodes for one keyboard mapping. */
export class KeycodeTable {
  private readonly byKeysym = new Map<number, number>();

  /**
   * @param minKeycode keycode of `rows[0]`
   * @param rows GetKeyboardMapping reply: the keysyms of each keycode, by column
   */
  constructor(minKeycode: number, rows: readonly (readonly number[])[]) {
    // Prefer the unshifted column, then lower keycodes: the key that produces
    // the keysym without modifiers is the one a user would press.
    const columns = rows.reduce((n, row) => Math.max(n, row.length), 0);
    for (let col = 0; col < columns; col++) {
      rows.forEach((row, i) => {
        const sym = row[col];
        if (sym !== undefined && sym !== 0 && !this.byKeysym.has(sym)) this.byKeysym.set(sym, minKeycode + i);
      });
    }
  }

  /** The keycode for a `KeyboardEvent.code`, or undefined if the host layout lacks it. */
  keycodeFor(code: string): number | undefined {
    for (const sym of keysymsForCode(code)) {
      const keycode = this.byKeysym.get(sym);
      if (keycode !== undefined) return keycode;
    }
    return undefined;
  }
}
