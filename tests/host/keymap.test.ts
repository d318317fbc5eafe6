/** Physical key mapping: KeyboardEvent.code → evdev keycode, detection of evdev servers, text keysyms. */
import { describe, expect, it } from 'vitest';
import { EVDEV_BY_CODE, evdevKeycodeFor, KeycodeTable, keysymForCodePoint } from '../../src/host/input/keymap.js';

/** A slice of an evdev US keymap (xmodmap -pke on Xvfb), keycodes 8..135. */
function evdevUsRows(): number[][] {
  const rows: number[][] = Array.from({ length: 128 }, () => []);
  const set = (keycode: number, ...syms: number[]) => (rows[keycode - 8] = syms);
  set(9, 0xff1b); // Escape
  set(23, 0xff09); // Tab
  set(36, 0xff0d); // Return
  set(38, 0x61, 0x41); // a A
  set(24, 0x71, 0x51); // q Q
  set(50, 0xffe1); // Shift_L
  set(67, 0xffbe); // F1
  set(110, 0xff50); // Home
  set(111, 0xff52); // Up
  set(113, 0xff51); // Left
  set(119, 0xffff); // Delete
  return rows;
}

describe('physical key mapping', () => {
  it('maps codes to evdev scancodes + 8', () => {
    expect(evdevKeycodeFor('KeyA')).toBe(38);
    expect(evdevKeycodeFor('Escape')).toBe(9);
    expect(evdevKeycodeFor('ArrowUp')).toBe(111);
    expect(evdevKeycodeFor('MetaLeft')).toBe(133);
    expect(evdevKeycodeFor('IntlBackslash')).toBe(94);
    expect(evdevKeycodeFor('constructor')).toBeUndefined();
    // No two codes share a physical key.
    expect(new Set(EVDEV_BY_CODE.values()).size).toBe(EVDEV_BY_CODE.size);
  });

  it('uses the physical keycode on an evdev server whatever the key prints', () => {
    const rows = evdevUsRows();
    // An AZERTY layout: the key at KeyA's position prints q, the one at KeyQ prints a.
    rows[38 - 8] = [0x71, 0x51];
    rows[24 - 8] = [0x61, 0x41];
    const table = new KeycodeTable(8, rows);
    expect(table.evdev).toBe(true);
    expect(table.keycodeFor('KeyA')).toBe(38);
    expect(table.keycodeFor('KeyQ')).toBe(24);
  });

  it('falls back to the US keysym on a server without evdev keycodes, or for an unbound physical key', () => {
    // xfree86-style: Up at 98, Home at 97, letters elsewhere.
    const rows: number[][] = Array.from({ length: 128 }, () => []);
    rows[98 - 8] = [0xff52];
    rows[60 - 8] = [0x61, 0x41];
    const table = new KeycodeTable(8, rows);
    expect(table.evdev).toBe(false);
    expect(table.keycodeFor('ArrowUp')).toBe(98);
    expect(table.keycodeFor('KeyA')).toBe(60);

    const evdevTable = new KeycodeTable(8, evdevUsRows());
    expect(evdevTable.keycodeFor('KeyZ')).toBeUndefined();
  });

  it('finds the spare keycodes and where a keysym lives', () => {
    const table = new KeycodeTable(8, evdevUsRows());
    expect(table.locate(0x41)).toEqual({ keycode: 38, column: 1 });
    expect(table.locate(0x61)).toEqual({ keycode: 38, column: 0 });
    expect(table.spareKeycodes()).not.toContain(38);
    expect(table.spareKeycodes()).not.toContain(8);
    expect(table.spareKeycodes()).toContain(10);
  });

  it('turns code points into keysyms: Latin-1 as is, the rest as Unicode keysyms, controls refused', () => {
    expect(keysymForCodePoint(0x61)).toBe(0x61);
    expect(keysymForCodePoint(0xe9)).toBe(0xe9);
    expect(keysymForCodePoint(0x20ac)).toBe(0x010020ac);
    expect(keysymForCodePoint(0x1f600)).toBe(0x0101f600);
    expect(keysymForCodePoint(0x0a)).toBe(0xff0d);
    expect(keysymForCodePoint(0x1b)).toBeUndefined();
    expect(keysymForCodePoint(0x85)).toBeUndefined();
  });
});
