import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeInput, encodeInput, MouseButton, PenFlag } from '../../src/shared/input.js';
import { HEARTBEAT_TIMEOUT_MS, InputRouter } from '../../src/host/input/input-router.js';
import { RecordingInjector } from './helpers/recording-injector.js';

describe('InputRouter', () => {
  it('applies valid messages from the input channel', () => {
    const injector = new RecordingInjector();
    const router = new InputRouter(injector);
    router.handle('input', encodeInput({ op: 'key', code: 'KeyA', down: true }));
    router.handle('input', encodeInput({ op: 'button', button: MouseButton.Right, down: true, x: 100, y: 200 }));
    router.handle('input', encodeInput({ op: 'wheel', dx: 0, dy: 240 }));
    router.handle('input', encodeInput({ op: 'releaseAll' }));
    expect(injector.events).toEqual([
      { kind: 'key', code: 'KeyA', down: true },
      // A button first moves the pointer to where it was pressed.
      { kind: 'pointerAbs', x: 100, y: 200 },
      { kind: 'button', button: 2, down: true },
      { kind: 'wheel', dx: 0, dy: 240 },
      { kind: 'releaseAll' },
    ]);
    expect(router.stats()).toMatchObject({ received: 4, injected: 4 });
  });

  it('accepts motion on the pointer channel and refuses anything else there', () => {
    const injector = new RecordingInjector();
    const router = new InputRouter(injector);
    router.handle('pointer', encodeInput({ op: 'pointerAbs', x: 1, y: 2 }));
    router.handle('pointer', encodeInput({ op: 'key', code: 'KeyA', down: true }));
    router.handle('pointer', encodeInput({ op: 'button', button: 0, down: false, x: 0, y: 0 }));
    expect(injector.events).toEqual([{ kind: 'pointerAbs', x: 1, y: 2 }]);
    expect(router.stats().dropped.wrongChannel).toBe(2);
  });

  it('never injects heartbeats and counts unmapped and non-binary messages', () => {
    const injector = new RecordingInjector(new Set(['F24']));
    const drops: string[] = [];
    const router = new InputRouter(injector, { onDrop: (reason) => drops.push(reason) });
    router.handle('input', encodeInput({ op: 'heartbeat', seq: 7 }));
    router.handle('input', encodeInput({ op: 'key', code: 'F24', down: true }));
    router.handle('input', 'not binary');
    router.handle('input', new Uint8Array(0));
    expect(injector.events).toEqual([]);
    expect(drops).toEqual(['unmapped', 'invalid', 'invalid']);
    expect(router.stats()).toEqual({
      received: 4,
      injected: 0,
      dropped: { invalid: 2, wrongChannel: 0, unmapped: 1, untypable: 0, overflow: 0, injectorError: 0 },
      heartbeats: 1,
      heartbeatTimeouts: 0,
    });
  });

  it('passes text and full pen samples to the injector', () => {
    const injector = new RecordingInjector();
    const router = new InputRouter(injector);
    router.handle('input', encodeInput({ op: 'text', text: 'é€😀' }));
    router.handle('input', encodeInput({ op: 'pen', x: 100, y: 200, pressure: 40_000, tiltX: -30, tiltY: 45, twist: 270, flags: PenFlag.Contact | PenFlag.Barrel }));
    expect(injector.events).toEqual([
      { kind: 'text', text: 'é€😀' },
      { kind: 'pen', sample: { x: 100, y: 200, pressure: 40_000, tiltX: -30, tiltY: 45, twist: 270, flags: PenFlag.Contact | PenFlag.Barrel } },
    ]);
  });

  it('keeps later input behind text that is still being typed', async () => {
    const injector = new RecordingInjector();
    let open!: () => void;
    injector.textGate = new Promise<void>((resolve) => (open = resolve));
    const router = new InputRouter(injector);
    router.handle('input', encodeInput({ op: 'text', text: 'ß' }));
    router.handle('input', encodeInput({ op: 'key', code: 'Enter', down: true }));
    router.handle('input', encodeInput({ op: 'key', code: 'Enter', down: false }));
    expect(injector.events).toEqual([]);
    open();
    await expect.poll(() => injector.events.length).toBe(3);
    expect(injector.events.map((e) => e.kind)).toEqual(['text', 'key', 'key']);
  });

  it('releases held input once heartbeats stop, once per silence', () => {
    let now = 0;
    const injector = new RecordingInjector();
    const timeouts: number[] = [];
    const router = new InputRouter(injector, { now: () => now, onHeartbeatTimeout: () => timeouts.push(now) });
    router.handle('input', encodeInput({ op: 'key', code: 'ShiftLeft', down: true }));
    now = HEARTBEAT_TIMEOUT_MS - 1;
    router.checkHeartbeat();
    expect(injector.events.filter((e) => e.kind === 'releaseAll')).toHaveLength(0);
    router.handle('input', encodeInput({ op: 'heartbeat', seq: 1 }));
    now += HEARTBEAT_TIMEOUT_MS - 1;
    router.checkHeartbeat();
    expect(injector.holding()).toBe(true);
    now += 2;
    router.checkHeartbeat();
    expect(injector.events.at(-1)).toEqual({ kind: 'releaseAll' });
    expect(injector.holding()).toBe(false);
    // Nothing held any more: silence alone releases nothing again.
    now += 10 * HEARTBEAT_TIMEOUT_MS;
    router.checkHeartbeat();
    expect(timeouts).toHaveLength(1);
    expect(router.stats().heartbeatTimeouts).toBe(1);
  });

  it('counts an injector failure instead of throwing', () => {
    const injector = new RecordingInjector();
    injector.wheel = () => {
      throw new Error('X connection gone');
    };
    const router = new InputRouter(injector);
    expect(() => router.handle('input', encodeInput({ op: 'wheel', dx: 1, dy: 1 }))).not.toThrow();
    expect(router.stats().dropped.injectorError).toBe(1);
  });

  it('never throws on arbitrary bytes and never injects what does not decode', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.constantFrom('input' as const, 'pointer' as const), (bytes, channel) => {
        const injector = new RecordingInjector();
        const router = new InputRouter(injector);
        expect(() => router.handle(channel, bytes)).not.toThrow();
        expect(() => router.handle(channel, bytes.buffer)).not.toThrow();
        if (!decodeInput(bytes).ok) {
          expect(injector.events).toEqual([]);
          expect(router.stats().dropped.invalid).toBe(2);
        }
      }),
      { numRuns: 5_000 },
    );
  });

  it('never throws on arbitrary bytes that start with a valid opcode', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 }), fc.uint8Array({ maxLength: 40 }), (op, rest) => {
        const bytes = Uint8Array.of(op, ...rest);
        const router = new InputRouter(new RecordingInjector());
        expect(() => router.handle('input', bytes)).not.toThrow();
        const s = router.stats();
        expect(s.received).toBe(1);
      }),
      { numRuns: 5_000 },
    );
  });
});
