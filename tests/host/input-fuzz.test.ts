/**
 * Fuzzing the input decoder and its routing (fast-check): arbitrary bytes,
 * and valid messages with bytes flipped or cut short, never throw out of the
 * decoder and never reach the injector unless they decode to a valid message.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeInput, encodeInput, type InputMessage } from '../../src/shared/input.js';
import { InputRouter } from '../../src/host/input/input-router.js';
import { RecordingInjector } from './helpers/recording-injector.js';

const validMessage: fc.Arbitrary<InputMessage> = fc.oneof(
  fc.record({ op: fc.constant('pointerAbs' as const), x: fc.integer({ min: 0, max: 65535 }), y: fc.integer({ min: 0, max: 65535 }) }),
  fc.record({ op: fc.constant('pointerRel' as const), dx: fc.integer({ min: -32768, max: 32767 }), dy: fc.integer({ min: -32768, max: 32767 }) }),
  fc.record({ op: fc.constant('button' as const), button: fc.constantFrom(0, 1, 2, 3, 4), down: fc.boolean(), x: fc.nat(65535), y: fc.nat(65535) }) as fc.Arbitrary<InputMessage>,
  fc.record({ op: fc.constant('wheel' as const), dx: fc.integer({ min: -32768, max: 32767 }), dy: fc.integer({ min: -32768, max: 32767 }) }),
  fc.record({ op: fc.constant('key' as const), code: fc.stringMatching(/^[A-Za-z0-9]{1,32}$/), down: fc.boolean() }),
  fc.record({ op: fc.constant('text' as const), text: fc.string({ minLength: 1, maxLength: 200, unit: 'grapheme' }) }),
  fc.record({
    op: fc.constant('pen' as const),
    x: fc.nat(65535),
    y: fc.nat(65535),
    pressure: fc.nat(65535),
    tiltX: fc.integer({ min: -90, max: 90 }),
    tiltY: fc.integer({ min: -90, max: 90 }),
    twist: fc.integer({ min: 0, max: 359 }),
    flags: fc.integer({ min: 0, max: 31 }),
  }),
  fc.constant({ op: 'releaseAll' as const }),
  fc.record({ op: fc.constant('heartbeat' as const), seq: fc.nat() }),
);

/** A valid message, then damaged: a byte changed, cut short, or extended. */
const damaged = fc
  .tuple(validMessage, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'truncate', 'extend'))
  .map(([msg, at, value, how]) => {
    const bytes = encodeInput(msg);
    if (how === 'truncate') return bytes.subarray(0, at % bytes.length);
    if (how === 'extend') return Uint8Array.of(...bytes, value);
    const copy = Uint8Array.from(bytes);
    copy[at % copy.length] = value;
    return copy;
  });

describe('input decoder fuzz', () => {
  it('decodes every valid message back to itself', () => {
    fc.assert(
      fc.property(validMessage, (msg) => {
        const decoded = decodeInput(encodeInput(msg));
        expect(decoded).toEqual({ ok: true, message: msg });
      }),
      { numRuns: 3_000 },
    );
  });

  it('never throws on damaged messages, and only what decodes reaches the injector', () => {
    fc.assert(
      fc.property(damaged, fc.constantFrom('input' as const, 'pointer' as const), (bytes, channel) => {
        let result: ReturnType<typeof decodeInput> | undefined;
        expect(() => (result = decodeInput(bytes))).not.toThrow();
        const injector = new RecordingInjector();
        const router = new InputRouter(injector);
        expect(() => router.handle(channel, bytes)).not.toThrow();
        if (!result!.ok) {
          expect(injector.events).toEqual([]);
          expect(router.stats().dropped.invalid).toBe(1);
        } else {
          expect(router.stats().dropped.invalid).toBe(0);
        }
        router.close();
      }),
      { numRuns: 10_000 },
    );
  });
});
