import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COORD_MAX, decodeInput, encodeInput, MAX_TEXT_BYTES, Op, toCoord, type InputMessage } from '../../src/shared/input.js';

const coord = fc.integer({ min: 0, max: COORD_MAX });
const i16 = fc.integer({ min: -32768, max: 32767 });
const keyCode = fc.stringMatching(/^[A-Za-z0-9]{1,32}$/);

const message: fc.Arbitrary<InputMessage> = fc.oneof(
  fc.record({ op: fc.constant('pointerAbs' as const), x: coord, y: coord }),
  fc.record({ op: fc.constant('pointerRel' as const), dx: i16, dy: i16 }),
  fc.record({
    op: fc.constant('button' as const),
    button: fc.constantFrom<0 | 1 | 2 | 3 | 4>(0, 1, 2, 3, 4),
    down: fc.boolean(),
    x: coord,
    y: coord,
  }),
  fc.record({ op: fc.constant('wheel' as const), dx: i16, dy: i16 }),
  fc.record({ op: fc.constant('key' as const), code: keyCode, down: fc.boolean() }),
  fc.record({ op: fc.constant('text' as const), text: fc.string({ minLength: 1, maxLength: 200, unit: 'grapheme' }) }),
  fc.record({
    op: fc.constant('pen' as const),
    x: coord,
    y: coord,
    pressure: fc.integer({ min: 0, max: 0xffff }),
    tiltX: fc.integer({ min: -90, max: 90 }),
    tiltY: fc.integer({ min: -90, max: 90 }),
    twist: fc.integer({ min: 0, max: 359 }),
    flags: fc.integer({ min: 0, max: 0x1f }),
  }),
  fc.constant({ op: 'releaseAll' as const }),
  fc.record({ op: fc.constant('heartbeat' as const), seq: fc.integer({ min: 0, max: 0xffffffff }) }),
);

describe('input codec v1', () => {
  it('round-trips every message exactly', () => {
    fc.assert(
      fc.property(message, (msg) => {
        const decoded = decodeInput(encodeInput(msg));
        expect(decoded).toEqual({ ok: true, message: msg });
      }),
      { numRuns: 2000 },
    );
  });

  it('lays out a button message as documented: opcode, button, state, x, y little-endian', () => {
    const bytes = encodeInput({ op: 'button', button: 2, down: true, x: 0x1234, y: 0xabcd });
    expect([...bytes]).toEqual([Op.Button, 2, 1, 0x34, 0x12, 0xcd, 0xab]);
  });

  it('never throws on arbitrary bytes, and rejects what it cannot read with a reason', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), (bytes) => {
        const result = decodeInput(bytes);
        if (!result.ok) expect(result.reason.length).toBeGreaterThan(0);
        else expect(encodeInput(result.message).length).toBe(bytes.length);
      }),
      { numRuns: 5000 },
    );
  });

  it('rejects truncated, padded, unknown and out-of-range messages', () => {
    const good = encodeInput({ op: 'pointerAbs', x: 1, y: 2 });
    expect(decodeInput(good.subarray(0, 4)).ok).toBe(false);
    expect(decodeInput(Uint8Array.of(...good, 0)).ok).toBe(false);
    expect(decodeInput(Uint8Array.of(0xee)).ok).toBe(false);
    expect(decodeInput(new Uint8Array(0)).ok).toBe(false);
    expect(decodeInput(Uint8Array.of(Op.Button, 9, 1, 0, 0, 0, 0))).toMatchObject({ ok: false, reason: 'unknown button 9' });
    expect(decodeInput(Uint8Array.of(Op.Key, 1, 3, 0x41, 0x2f, 0x42)).ok).toBe(false); // "A/B"
    expect(decodeInput(Uint8Array.of(Op.Text, 2, 0, 0xc3, 0x28)).ok).toBe(false); // invalid UTF-8
    const tooLong = new Uint8Array(3 + MAX_TEXT_BYTES + 1);
    tooLong.set([Op.Text, (MAX_TEXT_BYTES + 1) & 0xff, (MAX_TEXT_BYTES + 1) >> 8]);
    expect(decodeInput(tooLong).ok).toBe(false);
  });

  it('reads a view into a larger buffer at its offset', () => {
    const bytes = encodeInput({ op: 'wheel', dx: -120, dy: 240 });
    const big = new Uint8Array(bytes.length + 10);
    big.set(bytes, 7);
    expect(decodeInput(big.subarray(7, 7 + bytes.length))).toEqual({ ok: true, message: { op: 'wheel', dx: -120, dy: 240 } });
  });

  it('normalises fractions to the 16-bit coordinate range, clamped', () => {
    expect(toCoord(0)).toBe(0);
    expect(toCoord(1)).toBe(COORD_MAX);
    expect(toCoord(0.5)).toBe(32768);
    expect(toCoord(-3)).toBe(0);
    expect(toCoord(Number.NaN)).toBe(0);
    expect(toCoord(7)).toBe(COORD_MAX);
  });
});
