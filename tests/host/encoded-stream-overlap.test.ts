/**
 * EncodedStream's scheduling with a stand-in encoder the test finishes by
 * hand: the capture's next frame is taken while one encodes, at most one
 * waits (a newer one replaces it and is counted), readyIn() tells the
 * capture when to grab, and keyframe requests, bitrate and size changes and
 * close() stay right with a frame in flight.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { RawFrame } from '../../src/host/capture/capture-source.js';
import { frameBytes } from '../../src/host/capture/capture-source.js';
import { EncodedStream } from '../../src/host/encoder/encoded-stream.js';
import type { ColourDescription } from '../../src/host/encoder/encoder.js';
import { MIN_KEYFRAME_INTERVAL_MS } from '../../src/host/encoder/keyframes.js';
import { BitrateController } from '../../src/host/transport/bitrate.js';
import { slowEncoders, tagFrame } from './helpers/slow-encoder.js';

const COLOUR: ColourDescription = { range: 'limited', matrix: 'bt601' };
const logger = pino({ level: 'silent' });

/** Lets every settled promise's callbacks run (the stream's steps are a few awaits apart). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

function harness() {
  const encoders = slowEncoders('manual');
  const sent: number[] = [];
  const failures: Error[] = [];
  let clock = 0;
  const stream = new EncodedStream({
    openEncoder: encoders.open,
    settings: { fps: 30, pixelFormat: 'yuv420p', colour: COLOUR },
    sender: { canSend: () => true, sendFrame: (au) => (sent.push(au[0]!), true) },
    bitrate: new BitrateController(2_000, 20_000),
    logger,
    onFailure: (err) => failures.push(err),
    now: () => clock,
  });
  let index = 0;
  /** A frame tagged with its index; its promise's state is in `released`. */
  const push = (width = 64, height = 48) => {
    const tag = ++index;
    const frame: RawFrame = { width, height, format: 'i420', data: tagFrame(new Uint8Array(frameBytes(width, height, 'i420')), tag), capturedAt: clock };
    const entry = { tag, released: false, promise: stream.frame(frame) };
    void entry.promise.then(() => (entry.released = true));
    return entry;
  };
  return { stream, encoders, sent, failures, push, advance: (ms: number) => (clock += ms), calls: () => encoders.opened.flatMap((e) => e.calls) };
}

describe('EncodedStream with a frame in flight', () => {
  it('takes the next frame while one encodes, and encodes it once that one is done', async () => {
    const h = harness();
    const a = h.push();
    await settle();
    expect(h.calls().map((c) => c.tag)).toEqual([a.tag]);
    // The capture is not held: frame() returned, and the next frame is accepted while A encodes.
    const b = h.push();
    await settle();
    expect(a.released).toBe(false);
    expect(b.released).toBe(false);
    expect(h.calls()).toHaveLength(1);

    h.calls()[0]!.finish();
    await settle();
    expect(a.released).toBe(true);
    expect(h.sent).toEqual([a.tag]);
    expect(h.calls().map((c) => c.tag)).toEqual([a.tag, b.tag]);
    expect(b.released).toBe(false);

    h.calls()[1]!.finish();
    await settle();
    expect(b.released).toBe(true);
    expect(h.sent).toEqual([a.tag, b.tag]);
    expect(h.encoders.opened[0]!.violations).toEqual([]);
    await h.stream.close();
  });

  it('keeps one frame waiting: a newer one replaces it at once, counted as skipped, and the latest is encoded', async () => {
    const h = harness();
    const a = h.push();
    await settle();
    const b = h.push();
    const c = h.push();
    await settle();
    // B's buffer is free again before A's encode ends: the capture may grab into it.
    expect(b.released).toBe(true);
    expect(c.released).toBe(false);
    const d = h.push();
    await settle();
    expect(c.released).toBe(true);
    expect(h.stream.stats()).toMatchObject({ framesSkipped: 2, framesReplaced: 2, framesEncoded: 0 });

    h.calls()[0]!.finish();
    await settle();
    h.calls()[1]!.finish();
    await settle();
    expect(h.calls().map((call) => call.tag)).toEqual([a.tag, d.tag]);
    expect(h.sent).toEqual([a.tag, d.tag]);
    expect(d.released).toBe(true);
    expect(h.stream.stats()).toMatchObject({ framesSkipped: 2, framesReplaced: 2, framesEncoded: 2 });
    await h.stream.close();
  });

  it('forces a keyframe requested during an encode on the next frame, and passes a bitrate change on at once', async () => {
    const h = harness();
    h.push();
    await settle();
    expect(h.calls()[0]!.forceKeyframe).toBe(true); // the stream's start
    h.advance(MIN_KEYFRAME_INTERVAL_MS);
    h.stream.requestKeyframe('pli');
    h.stream.setCeiling(900, 900);
    // The addon stores a new rate for the frame after the one in flight (av_encoder.c js_reconfigure).
    expect(h.encoders.opened[0]!.bitrates).toEqual([900]);
    h.push();
    h.calls()[0]!.finish();
    await settle();
    expect(h.calls()[1]!.forceKeyframe).toBe(true);
    h.calls()[1]!.finish();
    await settle();
    h.push();
    await settle();
    expect(h.calls()[2]!.forceKeyframe).toBe(false);
    h.calls()[2]!.finish();
    await h.stream.close();
  });

  it('reopens for a new size only once the frame in flight is done, starting the new encoder with a keyframe', async () => {
    const h = harness();
    const a = h.push(64, 48);
    await settle();
    h.advance(MIN_KEYFRAME_INTERVAL_MS);
    const b = h.push(128, 96);
    await settle();
    expect(h.encoders.opened).toHaveLength(1);
    expect(h.encoders.opened[0]!.closed).toBe(false);

    h.calls()[0]!.finish();
    await settle();
    const [first, second] = h.encoders.opened;
    expect(first!.closed).toBe(true);
    expect(first!.closedWhileBusy).toBe(false);
    expect(second!.settings).toMatchObject({ width: 128, height: 96 });
    expect(second!.calls.map((c) => [c.tag, c.forceKeyframe])).toEqual([[b.tag, true]]);
    second!.calls[0]!.finish();
    await settle();
    expect(h.sent).toEqual([a.tag, b.tag]);
    expect([...first!.violations, ...second!.violations]).toEqual([]);
    await h.stream.close();
  });

  it('closes with a frame in flight: the waiting one is let go unencoded, and close resolves once the encode is done', async () => {
    const h = harness();
    const a = h.push();
    await settle();
    const b = h.push();
    let closed = false;
    const closing = h.stream.close().then(() => (closed = true));
    await settle();
    expect(b.released).toBe(true);
    expect(closed).toBe(false);
    expect(a.released).toBe(false);

    h.calls()[0]!.finish();
    await closing;
    expect(a.released).toBe(true);
    // Nothing more reaches the encoder or the transport, and later frames are let go at once.
    const c = h.push();
    await settle();
    expect(c.released).toBe(true);
    expect(h.calls().map((call) => call.tag)).toEqual([a.tag]);
    expect(h.sent).toEqual([]);
    expect(h.encoders.opened[0]!.closed).toBe(true);
    expect(h.encoders.opened[0]!.violations).toEqual([]);
    expect(h.failures).toEqual([]);
    await h.stream.close(); // idempotent
  });

  it('says when it will be ready for another frame: the rest of the encode in flight, one more if a frame waits', async () => {
    const h = harness();
    /** Pushes a frame and finishes its encode after `ms`. */
    const encodeFor = async (ms: number) => {
      h.push();
      await settle();
      h.advance(ms);
      h.calls().at(-1)!.finish();
      await settle();
    };
    expect(h.stream.readyIn()).toBe(0);
    h.push();
    await settle();
    // No encode timed yet: no estimate, so no reason to hold the capture back.
    expect(h.stream.readyIn()).toBe(0);
    h.advance(100);
    h.calls()[0]!.finish();
    await settle();
    // Idle.
    expect(h.stream.readyIn()).toBe(0);

    h.push();
    await settle();
    expect(h.stream.readyIn()).toBe(100);
    h.advance(30);
    expect(h.stream.readyIn()).toBe(70);
    h.push();
    expect(h.stream.readyIn()).toBe(170);
    // Overdue: nothing left of the estimate, but the waiting frame's encode.
    h.advance(70);
    expect(h.stream.readyIn()).toBe(100);
    h.calls()[1]!.finish();
    await settle();
    h.advance(100);
    h.calls()[2]!.finish();
    await settle();
    // One slow frame does not move the estimate (a median of the last few): 100, 100, 100, 600.
    await encodeFor(600);
    h.push();
    await settle();
    expect(h.stream.readyIn()).toBe(100);
    h.advance(100);
    h.calls().at(-1)!.finish();
    await settle();
    // But encodes that stay slower do.
    await encodeFor(300);
    await encodeFor(300);
    h.push();
    await settle();
    expect(h.stream.readyIn()).toBe(300);
    h.calls().at(-1)!.finish();
    await settle();

    // A new size is a new encoder, whose speed is not known yet.
    h.push(128, 96);
    await settle();
    expect(h.stream.readyIn()).toBe(0);
    h.calls().at(-1)!.finish();
    await h.stream.close();
  });

  it('reports a failed encode once and lets the waiting frame go without encoding it', async () => {
    const h = harness();
    h.push();
    await settle();
    const b = h.push();
    h.calls()[0]!.fail(new Error('encoder gone'));
    await settle();
    expect(b.released).toBe(true);
    expect(h.failures.map((e) => e.message)).toEqual(['encoder gone']);
    expect(h.calls()).toHaveLength(1);
    await h.stream.close();
  });
});
