import { describe, expect, it } from 'vitest';
import { BACKOFF_CAP_MS, backoffDelay } from '../../src/host/backoff.js';
import { hostSocketUrl } from '../../src/host/broker-link.js';
import { KeycodeTable, keysymsForCode } from '../../src/host/input/keymap.js';
import { MAX_CLICKS_PER_EVENT, WheelAccumulator } from '../../src/host/input/wheel.js';

describe('backoffDelay', () => {
  it('grows exponentially, stays within [ceiling/2, ceiling] and is capped', () => {
    expect(backoffDelay(0, () => 0)).toBe(250);
    expect(backoffDelay(0, () => 1)).toBe(500);
    expect(backoffDelay(3, () => 0)).toBe(2000);
    expect(backoffDelay(3, () => 1)).toBe(4000);
    for (const attempt of [5, 10, 100, 1e9]) {
      expect(backoffDelay(attempt, () => 1)).toBe(BACKOFF_CAP_MS);
      expect(backoffDelay(attempt, () => 0)).toBe(BACKOFF_CAP_MS / 2);
    }
  });

  it('spreads retries with jitter', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(4)));
    expect(delays.size).toBeGreaterThan(10);
  });
});

describe('hostSocketUrl', () => {
  it('maps http to ws and https to wss, keeping host, port and path prefix', () => {
    expect(hostSocketUrl('http://127.0.0.1:8080')).toBe('ws://127.0.0.1:8080/ws/host');
    expect(hostSocketUrl('https://broker.studio.example/')).toBe('wss://broker.studio.example/ws/host');
    expect(hostSocketUrl('https://studio.example/backlot/?x=1')).toBe('wss://studio.example/backlot/ws/host');
    expect(hostSocketUrl('ws://localhost:1')).toBe('ws://localhost:1/ws/host');
  });

  it('refuses other schemes', () => {
    expect(() => hostSocketUrl('ftp://x')).toThrow(/http/);
  });
});

describe('keysymsForCode', () => {
  it('covers letters, digits, punctuation, F-keys, modifiers, navigation and editing keys', () => {
    expect(keysymsForCode('KeyA')).toEqual([0x61]);
    expect(keysymsForCode('KeyZ')).toEqual([0x7a]);
    expect(keysymsForCode('Digit0')).toEqual([0x30]);
    expect(keysymsForCode('Minus')).toEqual([0x2d]);
    expect(keysymsForCode('Backquote')).toEqual([0x60]);
    expect(keysymsForCode('F1')).toEqual([0xffbe]);
    expect(keysymsForCode('F12')).toEqual([0xffc9]);
    expect(keysymsForCode('ShiftLeft')).toEqual([0xffe1]);
    expect(keysymsForCode('AltRight')).toEqual([0xffea, 0xfe03]);
    expect(keysymsForCode('ArrowUp')).toEqual([0xff52]);
    expect(keysymsForCode('Enter')).toEqual([0xff0d]);
    expect(keysymsForCode('Delete')).toEqual([0xffff]);
    expect(keysymsForCode('PageDown')).toEqual([0xff56]);
    expect(keysymsForCode('Numpad7')).toEqual([0xffb7]);
  });

  it('knows nothing of unknown codes', () => {
    expect(keysymsForCode('F0')).toEqual([]);
    expect(keysymsForCode('F99')).toEqual([]);
    expect(keysymsForCode('Keya')).toEqual([]);
    expect(keysymsForCode('constructor')).toEqual([]);
    expect(keysymsForCode('toString')).toEqual([]);
  });
});

describe('KeycodeTable', () => {
  // keycodes 8..: 'a'/'A', '1'/'!', Alt_L/Meta_L, KP_Home/KP_7, ISO_Level3_Shift
  const table = new KeycodeTable(8, [[0x61, 0x41], [0x31, 0x21], [0xffe9, 0xffe7], [0xff95, 0xffb7], [0xfe03]]);

  it('maps a code to the keycode producing its keysym', () => {
    expect(table.keycodeFor('KeyA')).toBe(8);
    expect(table.keycodeFor('Digit1')).toBe(9);
    expect(table.keycodeFor('AltLeft')).toBe(10);
  });

  it('finds keysyms in shifted columns and falls back to alternative keysyms', () => {
    expect(table.keycodeFor('Numpad7')).toBe(11);
    expect(table.keycodeFor('AltRight')).toBe(12);
  });

  it('reports keys the layout lacks', () => {
    expect(table.keycodeFor('KeyB')).toBeUndefined();
  });

  it('prefers the key that produces a keysym unshifted', () => {
    const t = new KeycodeTable(8, [[0x31, 0x61], [0x61, 0x41]]);
    expect(t.keycodeFor('KeyA')).toBe(9);
  });
});

describe('WheelAccumulator', () => {
  it('gives one click per 120 units and carries the remainder', () => {
    const w = new WheelAccumulator();
    expect(w.add(120)).toBe(1);
    expect(w.add(60)).toBe(0);
    expect(w.add(60)).toBe(1);
    expect(w.add(-240)).toBe(-2);
  });

  it('drops the remainder when the direction changes', () => {
    const w = new WheelAccumulator();
    expect(w.add(100)).toBe(0);
    expect(w.add(-100)).toBe(0);
    expect(w.add(-20)).toBe(-1);
  });

  it('caps the clicks of one huge delta', () => {
    expect(new WheelAccumulator().add(32767)).toBe(MAX_CLICKS_PER_EVENT);
    expect(new WheelAccumulator().add(-32768)).toBe(-MAX_CLICKS_PER_EVENT);
  });
});
