/**
 * XcbCapture's grab loop overlapping the encoder, on a stand-in addon whose
 * grabs take a fixed (fake) time and tag each buffer with the frame's
 * number: the next grab runs while the sink still encodes the last frame,
 * never into a buffer the sink holds, so the frame rate is bounded by
 * max(grab, encode) rather than their sum, without making the frames of a
 * fast encoder wait.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CaptureSettings, FrameSink, RawFrame } from '../../src/host/capture/capture-source.js';
import { FRAME_BUFFERS, XcbCapture } from '../../src/host/capture/xcb-capture.js';
import type { XcbHandle, XcbNative, XcbNextResult } from '../../src/host/capture/xcb-native.js';
import { EncodedStream } from '../../src/host/encoder/encoded-stream.js';
import type { HostError } from '../../src/host/errors.js';
import { BitrateController } from '../../src/host/transport/bitrate.js';
import { slowEncoders, tagFrame } from './helpers/slow-encoder.js';

const logger = pino({ level: 'silent' });
const SETTINGS: CaptureSettings = { region: { x: 0, y: 0, width: 64, height: 48 }, width: 64, height: 48, fps: 60 };
/** How long each run lasts, in fake ms. */
const RUN_MS = 3_000;

/** An addon whose every grab captures (the screen always changes) after `grabMs`, and which checks the buffer it is given. */
class FakeXcb implements XcbNative {
  grabs = 0;
  readonly violations: string[] = [];
  constructor(
    private readonly grabMs: number,
    /** Buffers the sink holds right now. */
    private readonly held: Map<Uint8Array, number>,
  ) {}
  open(): XcbHandle {
    return {} as XcbHandle;
  }
  screen(): { width: number; height: number } {
    return { width: 64, height: 48 };
  }
  configure(): void {}
  next(_handle: XcbHandle, out: Uint8Array): Promise<XcbNextResult> {
    const check = (when: string) => {
      if (this.held.get(out)) this.violations.push(`grab ${this.grabs} ${when} into a buffer the sink holds`);
    };
    check('started');
    return new Promise((resolve) =>
      setTimeout(() => {
        check('wrote');
        tagFrame(out, ++this.grabs);
        resolve({ captured: true, damage: true, waitedMs: 0, grabMs: this.grabMs, convertMs: 0 });
      }, this.grabMs),
    );
  }
  close(): void {}
}

/** Wraps `sink` to keep `held` (buffer → frames of it the sink has not let go) and the most ever held at once; passes readyIn on. */
function tracked(sink: FrameSink, readyIn?: () => number) {
  const held = new Map<Uint8Array, number>();
  const stats = { calls: 0, maxHeld: 0 };
  const wrapped: FrameSink = (frame: RawFrame) => {
    stats.calls++;
    held.set(frame.data, (held.get(frame.data) ?? 0) + 1);
    stats.maxHeld = Math.max(stats.maxHeld, [...held.values()].filter((n) => n > 0).length);
    return Promise.resolve(sink(frame)).finally(() => held.set(frame.data, held.get(frame.data)! - 1));
  };
  if (readyIn) wrapped.readyIn = readyIn;
  return { wrapped, held, stats };
}

/**
 * The capture feeding a real EncodedStream whose encoder takes `encodeMs`, for RUN_MS of fake time;
 * `timed`: the sink says when the stream will be ready (as EncodedPipeline's does).
 */
async function run(grabMs: number, encodeMs: number, { fps = SETTINGS.fps, timed = true } = {}) {
  const encoders = slowEncoders({ encodeMs });
  const stream = new EncodedStream({
    openEncoder: encoders.open,
    settings: { fps, pixelFormat: 'yuv420p', colour: { range: 'limited', matrix: 'bt601' } },
    sender: { canSend: () => true, sendFrame: () => true },
    bitrate: new BitrateController(2_000, 20_000),
    logger,
    onFailure: (err) => failures.push(err),
  });
  const failures: Error[] = [];
  let callsWhileEncoding = 0;
  const sink = tracked(
    (frame) => {
      if (encoders.opened[0]?.busy) callsWhileEncoding++;
      return stream.frame(frame);
    },
    timed ? () => stream.readyIn() : undefined,
  );
  const native = new FakeXcb(grabMs, sink.held);
  const capture = new XcbCapture({ display: ':fake', native, logger });
  const started = capture.start({ ...SETTINGS, fps }, sink.wrapped, (err) => failures.push(err));
  await vi.advanceTimersByTimeAsync(RUN_MS);
  await started;
  // Both wait for the encode in flight, which needs the clock to move.
  const stopped = Promise.all([capture.stop(), stream.close()]);
  await vi.advanceTimersByTimeAsync(encodeMs);
  await stopped;
  const encoder = encoders.opened[0]!;
  return { stats: stream.stats(), encoder, native, sink: sink.stats, callsWhileEncoding, failures };
}

describe('XcbCapture overlapping the encoder', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('grabs the next frame while the last one encodes, timed to end as the encoder frees: the rate is 1/max(grab, encode), not 1/sum', async () => {
    const grabMs = 40;
    const encodeMs = 100;
    const r = await run(grabMs, encodeMs);
    // Serial, one frame takes grab + encode (140 ms): 21 frames in 3 s. Overlapped, the encoder never waits for a grab.
    const serial = RUN_MS / (grabMs + encodeMs);
    const overlapped = RUN_MS / Math.max(grabMs, encodeMs);
    expect(r.stats.framesEncoded).toBeGreaterThanOrEqual(overlapped - 2);
    expect(r.stats.framesEncoded).toBeGreaterThan(serial + 5);
    expect(r.callsWhileEncoding).toBeGreaterThan(0);
    // One grab per encode, none wasted on a frame a newer one replaces, and no frame waits:
    // from the grab's start to the transport, the grab and the encode.
    expect(r.native.grabs).toBeLessThanOrEqual(r.stats.framesEncoded + 3);
    expect(r.stats.framesReplaced).toBeLessThanOrEqual(1);
    expect(r.stats.captureToSendMs).toBe(grabMs + encodeMs);
    expect([...r.native.violations, ...r.encoder.violations, ...r.failures.map((e) => e.message)]).toEqual([]);
  });

  it('without the sink\'s timing, grabs whenever the rate allows and the newest frame replaces the waiting one', async () => {
    const grabMs = 40;
    const encodeMs = 100;
    const r = await run(grabMs, encodeMs, { timed: false });
    expect(r.stats.framesEncoded).toBeGreaterThanOrEqual(RUN_MS / Math.max(grabMs, encodeMs) - 2);
    expect(r.callsWhileEncoding).toBeGreaterThan(0);
    // Grabs the encoder had no time for replaced the waiting frame, and were counted.
    expect(r.stats.framesReplaced).toBeGreaterThan(r.stats.framesEncoded / 2);
    expect(r.stats.framesSkipped).toBe(r.stats.framesReplaced);
    // Every frame was encoded or replaced, but for the one in flight and the one waiting when the run stopped.
    expect(r.sink.calls - r.stats.framesEncoded - r.stats.framesReplaced).toBeLessThanOrEqual(2);
    // A frame waits for the encoder at most about one grab.
    expect(r.stats.captureToSendMs!).toBeLessThanOrEqual(grabMs + grabMs + encodeMs);
    expect([...r.native.violations, ...r.encoder.violations, ...r.failures.map((e) => e.message)]).toEqual([]);
  });

  it('makes no frame wait when the encoder keeps up (1080p: grab 5 ms, encode 18 ms at 30 fps)', async () => {
    for (const timed of [true, false]) {
      const r = await run(5, 18, { fps: 30, timed });
      expect(r.stats.framesEncoded).toBeGreaterThanOrEqual((RUN_MS / 1000) * 30 - 2);
      expect(r.stats.framesReplaced).toBe(0);
      // From the grab's start to the transport: the grab and the encode, nothing queued in between.
      expect(r.stats.captureToSendMs).toBe(5 + 18);
      expect([...r.native.violations, ...r.encoder.violations]).toEqual([]);
    }
  });

  it('grabs at once when an encode ends sooner than the sink expected', async () => {
    // The sink expects 200 ms while busy (a stale estimate) but is done in 50: the release wakes the grab.
    let busy = 0;
    const sink = tracked(
      () => {
        busy++;
        return new Promise<void>((resolve) => setTimeout(() => (busy--, resolve()), 50));
      },
      () => (busy ? 200 : 0),
    );
    const native = new FakeXcb(10, sink.held);
    const capture = new XcbCapture({ display: ':fake', native, logger });
    const started = capture.start(SETTINGS, sink.wrapped, () => {});
    await vi.advanceTimersByTimeAsync(RUN_MS);
    await started;
    const stopped = capture.stop();
    await vi.advanceTimersByTimeAsync(200);
    await stopped;
    // One frame per 50 ms encode + 10 ms grab (the grab starts at the release), not per 100 ms sleep slice.
    expect(sink.stats.calls).toBeGreaterThanOrEqual(RUN_MS / 60 - 2);
    expect(native.violations).toEqual([]);
  });

  it('never grabs into a buffer a sink still holds, and waits when the sink holds them all', async () => {
    // A sink that keeps every frame for 250 ms, whatever else arrives: no latest-wins to free buffers early.
    const sink = tracked((frame) => {
      const tag = new DataView(frame.data.buffer, frame.data.byteOffset, 4).getUint32(0, true);
      return new Promise<void>((resolve, reject) =>
        setTimeout(() => (new DataView(frame.data.buffer, frame.data.byteOffset, 4).getUint32(0, true) === tag ? resolve() : reject(new Error(`frame ${tag} overwritten`))), 250),
      );
    });
    const native = new FakeXcb(10, sink.held);
    const failures: HostError[] = [];
    const capture = new XcbCapture({ display: ':fake', native, logger });
    const started = capture.start(SETTINGS, sink.wrapped, (err) => failures.push(err));
    await vi.advanceTimersByTimeAsync(RUN_MS);
    await started;
    let stopped = false;
    const stopping = capture.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    const calls = sink.stats.calls;
    // stop waits for the frames the sink still holds.
    expect(stopped).toBe(false);
    await vi.advanceTimersByTimeAsync(300);
    await stopping;
    expect(sink.stats.calls).toBe(calls);
    expect(sink.stats.maxHeld).toBe(FRAME_BUFFERS);
    // Limited by the sink: FRAME_BUFFERS frames per 250 ms (plus the first), not 60 fps.
    expect(sink.stats.calls).toBeLessThanOrEqual((RUN_MS / 250) * FRAME_BUFFERS + 1);
    expect(sink.stats.calls).toBeGreaterThan((RUN_MS / 250) * (FRAME_BUFFERS - 1));
    expect([...native.violations, ...failures.map((e) => e.message)]).toEqual([]);
  });

  it('ends the capture with ERR_CAPTURE_FAILED when a frame the sink took fails later', async () => {
    let n = 0;
    const sink: FrameSink = () => (++n === 3 ? Promise.reject(new Error('encoder gone')) : Promise.resolve());
    const native = new FakeXcb(10, new Map());
    const failures: HostError[] = [];
    const capture = new XcbCapture({ display: ':fake', native, logger });
    const started = capture.start(SETTINGS, sink, (err) => failures.push(err));
    await vi.advanceTimersByTimeAsync(500);
    await started;
    expect(failures.map((e) => [e.code, e.message])).toEqual([['ERR_CAPTURE_FAILED', 'the frame sink failed: encoder gone']]);
    expect(n).toBe(3);
    await capture.stop();
  });
});
