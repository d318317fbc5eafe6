/**
 * The encoder stage with a real libx264 behind it: what reaches the
 * transport (access units, their NAL types) when the receiver asks for a
 * keyframe, when REMB lowers the rate, when the picture changes size, and
 * when the encoder cannot open.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { RawFrame } from '../../src/host/capture/capture-source.js';
import { avEncoderFactory } from '../../src/host/encoder/av-encoder.js';
import { CAPTURE_COLOUR, loadAvNative } from '../../src/host/encoder/av-native.js';
import { EncodedStream } from '../../src/host/encoder/encoded-stream.js';
import { MIN_KEYFRAME_INTERVAL_MS } from '../../src/host/encoder/keyframes.js';
import { synthFrame } from '../../src/host/encoder/probe.js';
import { BitrateController } from '../../src/host/transport/bitrate.js';

const load = loadAvNative();
const logger = pino({ level: 'silent' });

/** NAL unit types of an Annex-B access unit. */
function nalTypes(au: Uint8Array): number[] {
  const types: number[] = [];
  for (let i = 0; i + 3 < au.length; i++) {
    if (au[i] === 0 && au[i + 1] === 0 && (au[i + 2] === 1 || (au[i + 2] === 0 && au[i + 3] === 1))) {
      const at = au[i + 2] === 1 ? i + 3 : i + 4;
      types.push(au[at]! & 0x1f);
      i = at;
    }
  }
  return types;
}

describe.skipIf(!load.ok)('EncodedStream on libx264', () => {
  const native = load.ok ? load.native : undefined!;

  function harness(options: { open?: 'libx264' | 'h264_nvenc'; startKbps?: number; canSend?: () => boolean } = {}) {
    const sent: { au: Uint8Array; at: number }[] = [];
    const failures: Error[] = [];
    let clock = 0;
    const stream = new EncodedStream({
      openEncoder: avEncoderFactory(native, [options.open ?? 'libx264'], 1),
      settings: { fps: 30, pixelFormat: 'yuv420p', colour: CAPTURE_COLOUR },
      sender: { canSend: options.canSend ?? (() => true), sendFrame: (au, at) => (sent.push({ au: Uint8Array.from(au), at }), true) },
      bitrate: new BitrateController(options.startKbps ?? 2_000, 20_000),
      logger,
      onFailure: (err) => failures.push(err),
      now: () => clock,
    });
    let index = 0;
    const frame = (width = 320, height = 240): RawFrame => ({ width, height, format: 'i420', data: synthFrame(width, height, 'yuv420p', index++), capturedAt: clock });
    return {
      stream,
      sent,
      failures,
      advance: (ms: number) => (clock += ms),
      push: async (count: number, size?: [number, number]) => {
        for (let i = 0; i < count; i++) {
          await stream.frame(frame(...(size ?? [])));
          clock += 33;
        }
      },
    };
  }

  it('starts with an IDR carrying SPS and PPS, then sends P frames only', async () => {
    const h = harness();
    await h.push(10);
    expect(h.sent).toHaveLength(10);
    expect(nalTypes(h.sent[0]!.au)).toEqual(expect.arrayContaining([7, 8, 5]));
    for (const { au } of h.sent.slice(1)) expect(nalTypes(au)).not.toContain(5);
    expect(h.stream.stats()).toMatchObject({ encoder: 'libx264', codec: 'H264', framesEncoded: 10, keyframesSent: 1 });
    await h.stream.close();
  });

  it('answers PLI with the next frame as an IDR (SPS/PPS again), and a repeated FIR only once', async () => {
    const h = harness();
    await h.push(12);
    h.stream.onFeedback({ kind: 'pli', mediaSsrc: 1 });
    await h.push(1);
    expect(nalTypes(h.sent.at(-1)!.au)).toEqual(expect.arrayContaining([7, 8, 5]));
    h.advance(MIN_KEYFRAME_INTERVAL_MS);
    h.stream.onFeedback({ kind: 'fir', requests: [{ ssrc: 9, sequence: 4 }] });
    h.stream.onFeedback({ kind: 'fir', requests: [{ ssrc: 9, sequence: 4 }] });
    await h.push(1);
    expect(nalTypes(h.sent.at(-1)!.au)).toContain(5);
    expect(h.stream.stats().keyframes.requested).toMatchObject({ pli: 1, fir: 1 });
    await h.stream.close();
  });

  it('lowers the bitrate when REMB says so, and the frames get smaller', async () => {
    const h = harness({ startKbps: 8_000 });
    await h.push(40);
    const bytes = (from: number) => h.sent.slice(from).reduce((n, s) => n + s.au.length, 0);
    const before = bytes(10) / (h.sent.length - 10);
    // Chromium says far less than we send: each REMB (every ~330 ms) halves the target at most.
    for (let i = 0; i < 4; i++) {
      h.stream.onFeedback({ kind: 'remb', bitrateBps: 100_000, ssrcs: [] });
      await h.push(10);
    }
    expect(h.stream.stats().bitrate).toMatchObject({ targetKbps: 500, reason: 'remb' });
    const mark = h.sent.length;
    await h.push(40);
    const after = bytes(mark + 10) / (h.sent.length - mark - 10);
    expect(after).toBeLessThan(before * 0.5);
    await h.stream.close();
  });

  it('reopens the encoder for a new picture size and starts it with an IDR', async () => {
    const h = harness();
    await h.push(5);
    await h.push(3, [640, 360]);
    expect(nalTypes(h.sent[5]!.au)).toEqual(expect.arrayContaining([7, 8, 5]));
    expect(h.stream.stats()).toMatchObject({ width: 640, height: 360 });
    await h.stream.close();
  });

  it('encodes nothing while the track is closed, and starts with a keyframe once it opens', async () => {
    let open = false;
    const h = harness({ canSend: () => open });
    await h.push(5);
    expect(h.sent).toHaveLength(0);
    expect(h.stream.stats()).toMatchObject({ framesEncoded: 0, framesSkipped: 5 });
    open = true;
    await h.push(2);
    expect(nalTypes(h.sent[0]!.au)).toContain(5);
    await h.stream.close();
  });

  it('reports an encoder that cannot open once, with libav\'s reason, and sends nothing', async () => {
    const h = harness({ open: 'h264_nvenc' });
    await h.push(3);
    expect(h.sent).toEqual([]);
    expect(h.failures).toHaveLength(1);
    expect(h.failures[0]).toMatchObject({ code: 'ERR_CODEC_UNAVAILABLE', message: expect.stringMatching(/h264_nvenc/) as unknown });
    await h.stream.close();
  });
});
