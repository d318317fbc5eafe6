/** probeEncoders over a stand-in addon: order, budget, reasons, and every opened handle closed. */
import { describe, expect, it } from 'vitest';
import { avFrameSize, type AvEncodeResult, type AvEncoderName, type AvHandle, type AvInfo, type AvNative, type AvOpenOptions } from '../../src/host/encoder/av-native.js';
import { H264_CANDIDATES, median, PROBE_TIMED_FRAMES, PROBE_WARMUP_FRAMES, probeEncoders, synthFrame } from '../../src/host/encoder/probe.js';

interface Behaviour {
  /** Rejects open with this message. */
  openError?: string;
  /** ms per frame reported by encode. */
  encodeMs?: number;
  /** Gives no data at all. */
  silent?: boolean;
  /** Rejects the encode with this message. */
  encodeError?: string;
}

function standIn(present: AvEncoderName[], behaviour: Partial<Record<AvEncoderName, Behaviour>>) {
  const opened: { name: AvEncoderName; options: AvOpenOptions; closed: boolean; frames: Uint8Array[]; forced: number[] }[] = [];
  const native: AvNative = {
    encoders: () => present,
    open: (options) => {
      const b = behaviour[options.codec] ?? {};
      if (b.openError) return Promise.reject(Object.assign(new Error(`${options.codec}: ${b.openError}`), { code: 'ERR_AV_OPEN' }));
      opened.push({ name: options.codec, options, closed: false, frames: [], forced: [] });
      return Promise.resolve(opened.length as unknown as AvHandle);
    },
    encode: (handle, frame, options): Promise<AvEncodeResult> => {
      const h = opened[(handle as unknown as number) - 1]!;
      const b = behaviour[h.name] ?? {};
      expect(frame.length).toBe(avFrameSize(h.options.width, h.options.height, h.options.pixelFormat ?? 'yuv420p'));
      h.frames.push(frame);
      if (options.forceKeyframe) h.forced.push(options.pts);
      if (b.encodeError) return Promise.reject(new Error(b.encodeError));
      return Promise.resolve({ data: b.silent ? null : Buffer.from([0, 0, 1, 0x65]), keyframe: !!options.forceKeyframe, encodeMs: b.encodeMs ?? 5, convertMs: 0.5, pts: options.pts });
    },
    reconfigure: () => ({ mode: 'dynamic' }),
    info: (handle) => ({ codec: opened[(handle as unknown as number) - 1]!.name, framesIn: 10 }) as AvInfo,
    close: (handle) => {
      opened[(handle as unknown as number) - 1]!.closed = true;
    },
  };
  return { native, opened };
}

const SIZE = { width: 320, height: 180, fps: 30 };
const ALL: AvEncoderName[] = ['libx264', 'h264_nvenc', 'h264_vaapi', 'h264_qsv'];

describe('probeEncoders', () => {
  it('tries hardware first and takes the first within budget, saying why of each', async () => {
    const { native, opened } = standIn(ALL, {
      h264_nvenc: { openError: 'Cannot load libcuda.so.1 (Operation not permitted)' },
      h264_vaapi: { encodeMs: 30 },
      h264_qsv: { encodeMs: 4 },
      libx264: { encodeMs: 7 },
    });
    const result = await probeEncoders({ native, ...SIZE, maxEncodeMs: 25 });
    expect(result.chosen).toBe('h264_qsv');
    expect(result.candidates.map((c) => [c.name, c.status, c.ok])).toEqual([
      ['h264_nvenc', 'failed', false],
      ['h264_vaapi', 'too-slow', false],
      ['h264_qsv', 'chosen', true],
      ['libx264', 'skipped', false],
    ]);
    expect(result.candidates[2]!.medianEncodeMs).toBe(4.5); // encode + conversion
    expect(result.candidates[3]!.reason).toBe('not probed: h264_qsv was chosen first');
    expect(result.why).toBe('h264_nvenc: Cannot load libcuda.so.1 (Operation not permitted); h264_vaapi: 30.5 ms/frame > 25 ms; h264_qsv: 4.5 ms/frame ≤ 25 ms: chosen');
    // Both that opened were closed again; libx264 was never opened.
    expect(opened.map((o) => [o.name, o.closed])).toEqual([
      ['h264_vaapi', true],
      ['h264_qsv', true],
    ]);
  });

  it('opens at the session size and format, times warm-up plus timed frames of a moving picture, the first forced key', async () => {
    const { native, opened } = standIn(ALL, {});
    await probeEncoders({ native, ...SIZE, pixelFormat: 'yuv444p', candidates: ['libx264'], maxEncodeMs: 25, bitrateKbps: 1234, open: { threads: 1 } });
    const o = opened[0]!;
    expect(o.options).toMatchObject({ codec: 'libx264', width: 320, height: 180, fps: 30, pixelFormat: 'yuv444p', bitrateKbps: 1234, threads: 1 });
    expect(o.frames).toHaveLength(PROBE_WARMUP_FRAMES + PROBE_TIMED_FRAMES);
    expect(o.forced).toEqual([0]);
    // Not a flat colour, and not the same picture every frame.
    expect(new Set(o.frames[0]!.subarray(0, 320 * 180)).size).toBeGreaterThan(20);
    expect(Buffer.compare(Buffer.from(o.frames[0]!), Buffer.from(o.frames[1]!))).not.toBe(0);
  });

  it('passes over encoders the build lacks and those that give nothing or fail mid-way', async () => {
    const { native, opened } = standIn(['h264_vaapi', 'h264_qsv', 'libx264'], {
      h264_vaapi: { silent: true },
      h264_qsv: { encodeError: 'avcodec_send_frame: Input/output error' },
    });
    const result = await probeEncoders({ native, ...SIZE, maxEncodeMs: 25 });
    expect(result.chosen).toBe('libx264');
    expect(result.candidates.map((c) => [c.name, c.status, c.reason])).toEqual([
      ['h264_nvenc', 'missing', 'not in this libavcodec build'],
      ['h264_vaapi', 'failed', `no output in ${PROBE_WARMUP_FRAMES + PROBE_TIMED_FRAMES} frames`],
      ['h264_qsv', 'failed', 'encoding failed: avcodec_send_frame: Input/output error'],
      ['libx264', 'chosen', undefined],
    ]);
    expect(opened.every((o) => o.closed)).toBe(true);
  });

  it('takes the fastest when none meets the budget, and says so', async () => {
    const { native } = standIn(ALL, { h264_nvenc: { encodeMs: 40 }, h264_vaapi: { openError: 'x' }, h264_qsv: { encodeMs: 31 }, libx264: { encodeMs: 60 } });
    const result = await probeEncoders({ native, ...SIZE, maxEncodeMs: 25 });
    expect(result.chosen).toBe('h264_qsv');
    expect(result.candidates.find((c) => c.name === 'h264_qsv')).toMatchObject({ status: 'chosen', ok: false });
    expect(result.why).toMatch(/; none met 25 ms\/frame: the fastest, h264_qsv \(31\.5 ms\), chosen$/);
  });

  it('chooses nothing when nothing opens', async () => {
    const { native } = standIn(['libx264'], { libx264: { openError: 'broken' } });
    const result = await probeEncoders({ native, ...SIZE, candidates: H264_CANDIDATES, maxEncodeMs: 25 });
    expect(result.chosen).toBeUndefined();
    expect(result.why).toBe('h264_nvenc: not in this libavcodec build; h264_vaapi: not in this libavcodec build; h264_qsv: not in this libavcodec build; libx264: broken; no encoder opened');
  });
});

describe('probe helpers', () => {
  it('median of odd and even counts', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('synthFrame fills exactly one planar frame, moving from index to index', () => {
    const a = synthFrame(64, 36, 'yuv420p', 0);
    const b = synthFrame(64, 36, 'yuv420p', 1);
    expect(a.length).toBe(64 * 36 * 1.5);
    expect(synthFrame(64, 36, 'yuv444p', 0).length).toBe(64 * 36 * 3);
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).not.toBe(0);
  });
});
